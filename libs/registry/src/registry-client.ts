import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';

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
 * Written by hand because no maintained Node library covers copy-by-digest with mounts.
 */
@Injectable()
export class RegistryClient {
  /** Where Dockyard's own HTTP client reaches the registry (REGISTRY_URL). */
  readonly url: string;
  /** host[:port] the Docker Engine pushes to and pulls from (REGISTRY_ENGINE_HOST): it may see another address. */
  readonly engineHost: string;
  private readonly credentials: Credentials;
  private readonly tokens = new Map<string, { token: string; expires: number }>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.url = config.registry.url;
    this.engineHost = config.registry.engineHost;
    this.credentials = { username: config.registry.username, password: config.registry.password };
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

  async getManifest(repo: string, reference: string): Promise<Manifest | null> {
    const res = await this.request('GET', repo, `/v2/${repo}/manifests/${reference}`, 'pull', {
      headers: { Accept: MANIFEST_TYPES.join(', ') },
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
  async resolve(repo: string, tag: string): Promise<string | null> {
    const res = await this.request('HEAD', repo, `/v2/${repo}/manifests/${tag}`, 'pull', {
      headers: { Accept: MANIFEST_TYPES.join(', ') },
    });
    if (res.status === 404) return null;
    await this.expectOk(res, `HEAD manifest ${repo}:${tag}`);
    const digest = res.headers.get('docker-content-digest');
    if (digest) return digest;
    return (await this.getManifest(repo, tag))?.digest ?? null;
  }

  async putManifest(repo: string, reference: string, manifest: Pick<Manifest, 'body' | 'mediaType'>): Promise<string> {
    const res = await this.request('PUT', repo, `/v2/${repo}/manifests/${reference}`, 'push,pull', {
      headers: { 'Content-Type': manifest.mediaType },
      body: manifest.body,
    });
    await this.expectOk(res, `PUT manifest ${repo}:${reference}`);
    return (
      res.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(manifest.body).digest('hex')}`
    );
  }

  /** Upload a blob in one piece (POST, then PUT with its digest); returns the digest. */
  async uploadBlob(repo: string, data: Buffer): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const start = await this.request('POST', repo, `/v2/${repo}/blobs/uploads/`, 'push,pull');
    await this.expectOk(start, `start upload to ${repo}`);
    const location = new URL(start.headers.get('location') ?? '', this.url);
    location.searchParams.set('digest', digest);
    const put = await this.request('PUT', repo, location.pathname + location.search, 'push,pull', {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: data,
    });
    await this.expectOk(put, `upload ${digest} to ${repo}`);
    return digest;
  }

  async blobExists(repo: string, digest: string): Promise<boolean> {
    const res = await this.request('HEAD', repo, `/v2/${repo}/blobs/${digest}`, 'pull');
    if (res.status === 404) return false;
    await this.expectOk(res, `HEAD blob ${repo}@${digest}`);
    return true;
  }

  /** Make a blob of another repository available here without moving its bytes. */
  async mountBlob(repo: string, digest: string, fromRepo: string): Promise<void> {
    // Mount straight away (one request); a registry that already has the blob answers 201 too.
    const res = await this.request(
      'POST',
      repo,
      `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepo)}`,
      'push,pull',
      {},
      [fromRepo],
    );
    await res.body?.cancel();
    if (res.status === 201) return;
    // 202: the registry opened an upload instead of mounting. Close it, and accept a blob that is there anyway.
    const location = res.headers.get('location');
    if (res.status === 202 && location) {
      const path = new URL(location, this.url).pathname + new URL(location, this.url).search;
      await this.request('DELETE', repo, path, 'push,pull').then(
        (r) => r.body?.cancel(),
        () => undefined,
      );
    }
    if (await this.blobExists(repo, digest)) return;
    throw new RegistryError(
      `could not mount ${digest} from ${fromRepo} into ${repo} (status ${res.status})`,
      res.status,
    );
  }

  /**
   * Point dstRepo:tag at the image srcRepo@digest. Only manifests move (blobs are mounted when the
   * repositories differ), so the cost does not grow with the image's size.
   */
  async copy(srcRepo: string, digest: string, dstRepo: string, tag: string): Promise<string> {
    const manifest = await this.getManifest(srcRepo, digest);
    if (!manifest) throw new RegistryError(`${srcRepo}@${digest} is not in the registry`, 404);
    if (srcRepo !== dstRepo) await this.copyContents(srcRepo, manifest, dstRepo);
    const written = await this.putManifest(dstRepo, tag, manifest);
    if (written !== digest) throw new RegistryError(`${dstRepo}:${tag} was written as ${written}, not ${digest}`);
    return written;
  }

  /** Total bytes of an image: config and layers (for an index, of every platform's manifest). */
  async imageSize(repo: string, digest: string): Promise<number> {
    const manifest = await this.getManifest(repo, digest);
    if (!manifest) throw new RegistryError(`${repo}@${digest} is not in the registry`, 404);
    if (manifest.json.manifests) {
      const sizes = await Promise.all(manifest.json.manifests.map((m) => this.imageSize(repo, m.digest)));
      return sizes.reduce((a, b) => a + b, 0);
    }
    return (manifest.json.config?.size ?? 0) + (manifest.json.layers ?? []).reduce((a, l) => a + l.size, 0);
  }

  async deleteManifest(repo: string, digest: string): Promise<void> {
    const res = await this.request('DELETE', repo, `/v2/${repo}/manifests/${digest}`, '*');
    if (res.status !== 404) await this.expectOk(res, `DELETE manifest ${repo}@${digest}`);
  }

  private async copyContents(srcRepo: string, manifest: Manifest, dstRepo: string): Promise<void> {
    const { json } = manifest;
    for (const child of json.manifests ?? []) {
      const childManifest = await this.getManifest(srcRepo, child.digest);
      if (!childManifest) throw new RegistryError(`${srcRepo}@${child.digest} is missing`, 404);
      await this.copyContents(srcRepo, childManifest, dstRepo);
      await this.putManifest(dstRepo, child.digest, childManifest);
    }
    const blobs = [json.config, ...(json.layers ?? [])].filter((d): d is Descriptor => !!d);
    await Promise.all(blobs.map((blob) => this.mountBlob(dstRepo, blob.digest, srcRepo)));
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
    init: { headers?: Record<string, string>; body?: Buffer } = {},
    alsoPull: string[] = [],
  ): Promise<Response> {
    const scopes = [`repository:${repo}:${actions}`, ...alsoPull.map((r) => `repository:${r}:pull`)];
    const send = (authorization?: string) =>
      fetch(`${this.url}${path}`, {
        method,
        headers: { ...init.headers, ...(authorization ? { Authorization: authorization } : {}) },
        body: init.body,
        redirect: 'follow',
        signal: AbortSignal.timeout(60_000),
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
    if (/^bearer/i.test(challenge)) return send(`Bearer ${await this.token(challenge, scopes)}`);
    throw new RegistryError(`${method} ${path}: 401 with an auth scheme Dockyard does not know: ${challenge}`, 401);
  }

  private basic(): string | undefined {
    const { username, password } = this.credentials;
    if (!username) return undefined;
    return `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  }

  private async token(challenge: string, scopes: string[]): Promise<string> {
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
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new RegistryError(`token service ${url.origin} answered ${res.status}`, res.status);
    const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError('token service answered without a token', 401);
    this.tokens.set(scopes.join(' '), { token, expires: Date.now() + ((body.expires_in ?? 60) - 10) * 1000 });
    return token;
  }
}
