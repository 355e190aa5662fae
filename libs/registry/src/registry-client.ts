import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { withDeadline } from '@dockyard/deadline';

export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

export interface Manifest {
  digest: string;
  mediaType: string;
  /** The exact bytes the registry holds: a copy must write these, never a re-serialisation. */
  body: Buffer;
  json: ManifestJson;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}
interface ManifestJson {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface EngineAuth {
  username?: string;
  password?: string;
  serveraddress: string;
}

interface Credentials {
  username?: string;
  password?: string;
}

/**
 * An OCI distribution (registry v2) client: manifests by digest, tags, cross-repository blob
 * mounts. Auth: anonymous, basic, and the bearer-token challenge flow of real registries.
 * Written by hand because no maintained Node library covers copy-by-digest with mounts. Every call
 * has a deadline (REGISTRY_TIMEOUT, for the whole call) and takes a signal that cancels it; either
 * drops its connections and answers with a named error (DeadlineExceededError, CancelledError).
 */
@Injectable()
export class RegistryClient {
  /** Where Dockyard's own HTTP client reaches the registry (REGISTRY_URL). */
  readonly url: string;
  /** host[:port] the Docker Engine pushes to and pulls from (REGISTRY_ENGINE_HOST): it may see another address. */
  readonly engineHost: string;
  private readonly credentials: Credentials;
  private readonly tokens = new Map<string, { token: string; expires: number }>();
  private readonly timeout: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.url = config.registry.url;
    this.engineHost = config.registry.engineHost;
    this.credentials = { username: config.registry.username, password: config.registry.password };
    this.timeout = config.registry.timeout;
  }

  /** A repository as the Docker Engine names it: give this to build tags, push and pull, never `url`. */
  engineRef(repository: string): string {
    return `${this.engineHost}/${repository}`;
  }

  /** The credentials the Docker Engine needs to push to or pull from this registry. */
  engineAuth(): EngineAuth {
    const { username, password } = this.credentials;
    return username ? { username, password, serveraddress: this.engineHost } : { serveraddress: this.engineHost };
  }

  async ping(): Promise<void> {
    const res = await fetch(`${this.url}/v2/`, { signal: AbortSignal.timeout(3_000) });
    if (res.status !== 200 && res.status !== 401)
      throw new RegistryError(`registry answered ${res.status}`, res.status);
  }

  getManifest(repo: string, reference: string, signal?: AbortSignal): Promise<Manifest | null> {
    return this.bounded(`registry GET manifest ${repo}@${reference}`, signal, (s) =>
      this.readManifest(repo, reference, s),
    );
  }

  private async readManifest(repo: string, reference: string, signal: AbortSignal): Promise<Manifest | null> {
    const res = await this.request('GET', repo, `/v2/${repo}/manifests/${reference}`, 'pull', {
      headers: { Accept: MANIFEST_TYPES.join(', ') },
      signal,
    });
    if (res.status === 404) return null;
    await this.expectOk(res, `GET manifest ${repo}@${reference}`);
    const body = Buffer.from(await res.arrayBuffer());
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw new RegistryError(`manifest ${repo}@${reference} came back with digest ${digest}`);
    }
    const json = JSON.parse(body.toString('utf8')) as ManifestJson;
    const mediaType = res.headers.get('content-type')?.split(';')[0] ?? json.mediaType ?? MANIFEST_TYPES[1];
    return { digest, mediaType, body, json };
  }

  /** The digest a tag points at, or null if the tag does not exist. */
  resolve(repo: string, tag: string, signal?: AbortSignal): Promise<string | null> {
    return this.bounded(`registry HEAD manifest ${repo}:${tag}`, signal, async (s) => {
      const res = await this.request('HEAD', repo, `/v2/${repo}/manifests/${tag}`, 'pull', {
        headers: { Accept: MANIFEST_TYPES.join(', ') },
        signal: s,
      });
      if (res.status === 404) return null;
      await this.expectOk(res, `HEAD manifest ${repo}:${tag}`);
      const digest = res.headers.get('docker-content-digest');
      if (digest) return digest;
      return (await this.readManifest(repo, tag, s))?.digest ?? null;
    });
  }

  putManifest(
    repo: string,
    reference: string,
    manifest: Pick<Manifest, 'body' | 'mediaType'>,
    signal?: AbortSignal,
  ): Promise<string> {
    return this.bounded(`registry PUT manifest ${repo}:${reference}`, signal, (s) =>
      this.writeManifest(repo, reference, manifest, s),
    );
  }

  private async writeManifest(
    repo: string,
    reference: string,
    manifest: Pick<Manifest, 'body' | 'mediaType'>,
    signal: AbortSignal,
  ): Promise<string> {
    const res = await this.request('PUT', repo, `/v2/${repo}/manifests/${reference}`, 'push,pull', {
      headers: { 'Content-Type': manifest.mediaType },
      body: manifest.body,
      signal,
    });
    await this.expectOk(res, `PUT manifest ${repo}:${reference}`);
    return (
      res.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(manifest.body).digest('hex')}`
    );
  }

  /** Upload a blob in one piece (POST, then PUT with its digest); returns the digest. */
  uploadBlob(repo: string, data: Buffer, signal?: AbortSignal): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    return this.bounded(`registry upload ${digest} to ${repo}`, signal, async (s) => {
      const start = await this.request('POST', repo, `/v2/${repo}/blobs/uploads/`, 'push,pull', { signal: s });
      await this.expectOk(start, `start upload to ${repo}`);
      const location = new URL(start.headers.get('location') ?? '', this.url);
      location.searchParams.set('digest', digest);
      const put = await this.request('PUT', repo, location.pathname + location.search, 'push,pull', {
        headers: { 'Content-Type': 'application/octet-stream' },
        body: data,
        signal: s,
      });
      await this.expectOk(put, `upload ${digest} to ${repo}`);
      return digest;
    });
  }

  blobExists(repo: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    return this.bounded(`registry HEAD blob ${repo}@${digest}`, signal, (s) => this.hasBlob(repo, digest, s));
  }

  private async hasBlob(repo: string, digest: string, signal: AbortSignal): Promise<boolean> {
    const res = await this.request('HEAD', repo, `/v2/${repo}/blobs/${digest}`, 'pull', { signal });
    if (res.status === 404) return false;
    await this.expectOk(res, `HEAD blob ${repo}@${digest}`);
    return true;
  }

  /** Make a blob of another repository available here without moving its bytes. */
  mountBlob(repo: string, digest: string, fromRepo: string, signal?: AbortSignal): Promise<void> {
    return this.bounded(`registry mount ${digest} into ${repo}`, signal, (s) => this.mount(repo, digest, fromRepo, s));
  }

  private async mount(repo: string, digest: string, fromRepo: string, signal: AbortSignal): Promise<void> {
    // Mount straight away (one request); a registry that already has the blob answers 201 too.
    const res = await this.request(
      'POST',
      repo,
      `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepo)}`,
      'push,pull',
      { signal },
      [fromRepo],
    );
    await res.body?.cancel();
    if (res.status === 201) return;
    // 202: the registry opened an upload instead of mounting. Close it, and accept a blob that is there anyway.
    const location = res.headers.get('location');
    if (res.status === 202 && location) {
      const path = new URL(location, this.url).pathname + new URL(location, this.url).search;
      await this.request('DELETE', repo, path, 'push,pull', { signal }).then(
        (r) => r.body?.cancel(),
        () => undefined,
      );
    }
    if (await this.hasBlob(repo, digest, signal)) return;
    throw new RegistryError(
      `could not mount ${digest} from ${fromRepo} into ${repo} (status ${res.status})`,
      res.status,
    );
  }

  /**
   * Point dstRepo:tag at the image srcRepo@digest. Only manifests move (blobs are mounted when the
   * repositories differ), so the cost does not grow with the image's size.
   */
  copy(srcRepo: string, digest: string, dstRepo: string, tag: string, signal?: AbortSignal): Promise<string> {
    return this.bounded(`registry copy ${srcRepo}@${digest} to ${dstRepo}:${tag}`, signal, async (s) => {
      const manifest = await this.readManifest(srcRepo, digest, s);
      if (!manifest) throw new RegistryError(`${srcRepo}@${digest} is not in the registry`, 404);
      if (srcRepo !== dstRepo) await this.copyContents(srcRepo, manifest, dstRepo, s);
      const written = await this.writeManifest(dstRepo, tag, manifest, s);
      if (written !== digest) throw new RegistryError(`${dstRepo}:${tag} was written as ${written}, not ${digest}`);
      return written;
    });
  }

  /** Total bytes of an image: config and layers (for an index, of every platform's manifest). */
  imageSize(repo: string, digest: string, signal?: AbortSignal): Promise<number> {
    return this.bounded(`registry size of ${repo}@${digest}`, signal, (s) => this.sizeOf(repo, digest, s));
  }

  private async sizeOf(repo: string, digest: string, signal: AbortSignal): Promise<number> {
    const manifest = await this.readManifest(repo, digest, signal);
    if (!manifest) throw new RegistryError(`${repo}@${digest} is not in the registry`, 404);
    if (manifest.json.manifests) {
      const sizes = await Promise.all(manifest.json.manifests.map((m) => this.sizeOf(repo, m.digest, signal)));
      return sizes.reduce((a, b) => a + b, 0);
    }
    return (manifest.json.config?.size ?? 0) + (manifest.json.layers ?? []).reduce((a, l) => a + l.size, 0);
  }

  deleteManifest(repo: string, digest: string, signal?: AbortSignal): Promise<void> {
    return this.bounded(`registry DELETE manifest ${repo}@${digest}`, signal, async (s) => {
      const res = await this.request('DELETE', repo, `/v2/${repo}/manifests/${digest}`, '*', { signal: s });
      if (res.status !== 404) await this.expectOk(res, `DELETE manifest ${repo}@${digest}`);
    });
  }

  private async copyContents(srcRepo: string, manifest: Manifest, dstRepo: string, signal: AbortSignal): Promise<void> {
    const { json } = manifest;
    for (const child of json.manifests ?? []) {
      const childManifest = await this.readManifest(srcRepo, child.digest, signal);
      if (!childManifest) throw new RegistryError(`${srcRepo}@${child.digest} is missing`, 404);
      await this.copyContents(srcRepo, childManifest, dstRepo, signal);
      await this.writeManifest(dstRepo, child.digest, childManifest, signal);
    }
    const blobs = [json.config, ...(json.layers ?? [])].filter((d): d is Descriptor => !!d);
    await Promise.all(blobs.map((blob) => this.mount(dstRepo, blob.digest, srcRepo, signal)));
  }

  /** One call under the registry's deadline and the caller's signal. */
  private bounded<T>(what: string, signal: AbortSignal | undefined, work: (s: AbortSignal) => Promise<T>): Promise<T> {
    return withDeadline(what, this.timeout, work, signal);
  }

  private async expectOk(res: Response, what: string): Promise<void> {
    if (res.ok) {
      if (res.body && !res.bodyUsed && (res.status === 201 || res.status === 202)) await res.body.cancel();
      return;
    }
    const text = (await res.text().catch(() => '')).slice(0, 300);
    throw new RegistryError(`${what}: ${res.status} ${text}`.trim(), res.status);
  }

  /** One registry request, answering a 401 challenge (basic or bearer) once. */
  private async request(
    method: string,
    repo: string,
    path: string,
    actions: string,
    init: { headers?: Record<string, string>; body?: Buffer; signal?: AbortSignal } = {},
    alsoPull: string[] = [],
  ): Promise<Response> {
    const scopes = [`repository:${repo}:${actions}`, ...alsoPull.map((r) => `repository:${r}:pull`)];
    const send = (authorization?: string) =>
      fetch(`${this.url}${path}`, {
        method,
        headers: { ...init.headers, ...(authorization ? { Authorization: authorization } : {}) },
        body: init.body,
        redirect: 'follow',
        signal: init.signal ?? AbortSignal.timeout(this.timeout),
      });
    const cached = this.tokens.get(scopes.join(' '));
    const first = await send(cached && cached.expires > Date.now() ? `Bearer ${cached.token}` : this.basic());
    if (first.status !== 401) return first;
    const challenge = first.headers.get('www-authenticate') ?? '';
    await first.body?.cancel();
    if (/^basic/i.test(challenge)) {
      const basic = this.basic();
      if (!basic) throw new RegistryError(`${method} ${path}: the registry wants credentials (REGISTRY_USERNAME)`, 401);
      return send(basic);
    }
    if (/^bearer/i.test(challenge)) return send(`Bearer ${await this.token(challenge, scopes, init.signal)}`);
    throw new RegistryError(`${method} ${path}: 401 with an auth scheme Dockyard does not know: ${challenge}`, 401);
  }

  private basic(): string | undefined {
    const { username, password } = this.credentials;
    if (!username) return undefined;
    return `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  }

  private async token(challenge: string, scopes: string[], signal?: AbortSignal): Promise<string> {
    const params = Object.fromEntries(
      [...challenge.slice('bearer '.length).matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]),
    );
    if (!params.realm) throw new RegistryError(`bearer challenge without a realm: ${challenge}`, 401);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const basic = this.basic();
    const res = await fetch(url, {
      headers: basic ? { Authorization: basic } : {},
      signal: signal ?? AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new RegistryError(`token service ${url.origin} answered ${res.status}`, res.status);
    const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError('token service answered without a token', 401);
    this.tokens.set(scopes.join(' '), { token, expires: Date.now() + ((body.expires_in ?? 60) - 10) * 1000 });
    return token;
  }
}
