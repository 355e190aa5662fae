import Docker from 'dockerode';
import { PassThrough, type Readable } from 'node:stream';

/** How to reach one Docker Engine: what a Target row says, with its key material opened. */
export type TargetEndpoint =
  | { kind: 'socket'; address: string }
  | { kind: 'tls'; address: string; ca: string; cert: string; key: string }
  | { kind: 'ssh'; address: string; privateKey: string };

/** A target's engine could not be reached, or did not answer in time: nothing on it was changed by this call. */
export class TargetUnreachableError extends Error {}

/** Per-request deadline of the Engine API client; longer operations (pull, build) carry their own. */
const CALL_MS = 30_000;

export function dockerOptions(endpoint: TargetEndpoint): Docker.DockerOptions {
  if (endpoint.kind === 'socket') {
    if (!endpoint.address.startsWith('unix://'))
      throw new Error(`a socket target's address is unix:///path, not ${endpoint.address}`);
    return { socketPath: endpoint.address.slice('unix://'.length), timeout: CALL_MS };
  }
  if (endpoint.kind === 'tls') {
    const u = new URL(endpoint.address.replace(/^tcp:/, 'https:'));
    return {
      protocol: 'https',
      host: u.hostname,
      port: Number(u.port || 2376),
      ca: endpoint.ca,
      cert: endpoint.cert,
      key: endpoint.key,
      timeout: CALL_MS,
    };
  }
  const u = new URL(endpoint.address);
  return {
    protocol: 'ssh',
    host: u.hostname,
    port: Number(u.port || 22),
    username: decodeURIComponent(u.username || 'root'),
    sshOptions: { privateKey: endpoint.privateKey, readyTimeout: CALL_MS },
    // No `timeout` here: docker-modem would call setTimeout on the SSH channel, which has none (a
    // TypeError, then a hung request). TargetEngine.call's deadline bounds every call instead.
  } as Docker.DockerOptions;
}

export interface OwnedContainer {
  id: string;
  name: string;
  state: string;
  labels: Record<string, string>;
}

/**
 * One target's Docker Engine, through dockerode, with a deadline on every call. Containers are
 * found by Dockyard's labels and nothing here acts on a container without them.
 */
export class TargetEngine {
  readonly docker: Docker;

  constructor(
    readonly host: string,
    readonly endpoint: TargetEndpoint,
  ) {
    this.docker = new Docker(dockerOptions(endpoint));
  }

  /** Run an Engine API call with a deadline; a refused or timed-out connection says which host. */
  async call<T>(what: string, fn: () => Promise<T>, ms = CALL_MS): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TargetUnreachableError(`${this.where()}: ${what} took longer than ${ms} ms`)),
        ms,
      );
    });
    try {
      return await Promise.race([fn(), deadline]);
    } catch (err) {
      if (err instanceof TargetUnreachableError) throw err;
      const e = err as { code?: string; message?: string; statusCode?: number };
      if (
        !e.statusCode &&
        /ECONNREFUSED|ENOENT|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|socket hang up|Timed out|handshake|connect/i.test(
          `${e.code} ${e.message}`,
        )
      ) {
        throw new TargetUnreachableError(`${this.where()}: cannot reach the Docker Engine (${e.code ?? e.message})`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  where(): string {
    return `host ${this.host} (${this.endpoint.address})`;
  }

  ping(): Promise<unknown> {
    return this.call('ping', () => this.docker.ping(), 10_000);
  }

  async hasImage(ref: string): Promise<boolean> {
    try {
      await this.call(`inspect ${ref}`, () => this.docker.getImage(ref).inspect());
      return true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return false;
      throw err;
    }
  }

  /** Pull an image (by digest: exactly that image) unless the engine has it already. */
  async pull(ref: string, auth: { username?: string; password?: string; serveraddress: string }, ms: number) {
    if (await this.hasImage(ref)) return false;
    await this.call(
      `pull ${ref}`,
      async () => {
        const stream = (await this.docker.createImage(auth, { fromImage: ref })) as Readable;
        const events = await new Promise<{ error?: string }[]>((resolve, reject) =>
          this.docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) =>
            err ? reject(err) : resolve(out),
          ),
        );
        const failed = events.find((e) => e.error);
        if (failed) throw new Error(`${this.where()}: pull of ${ref} failed: ${failed.error}`);
      },
      ms,
    );
    return true;
  }

  /** Build an image from a tar context (the proxy image, made here from files on Dockyard's machine). */
  async build(context: Readable, tag: string, ms: number): Promise<void> {
    await this.call(
      `build ${tag}`,
      async () => {
        const stream = await this.docker.buildImage(context, { t: tag, rm: true, forcerm: true });
        const events = await new Promise<{ error?: string }[]>((resolve, reject) =>
          this.docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) =>
            err ? reject(err) : resolve(out),
          ),
        );
        const failed = events.find((e) => e.error);
        if (failed) throw new Error(`${this.where()}: build of ${tag} failed: ${failed.error}`);
      },
      ms,
    );
  }

  async ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    const found = await this.call('list networks', () => this.docker.listNetworks({ filters: { name: [name] } }));
    if (found.some((n) => n.Name === name)) return;
    await this.call(`create network ${name}`, () =>
      this.docker.createNetwork({ Name: name, Driver: 'bridge', Labels: labels, CheckDuplicate: true }),
    ).catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 409) throw err;
    });
  }

  /** Containers carrying every one of these labels (Dockyard's own, by construction). */
  async owned(labels: Record<string, string>, all = true): Promise<OwnedContainer[]> {
    const list = await this.call('list containers', () =>
      this.docker.listContainers({
        all,
        filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) },
      }),
    );
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      state: c.State,
      labels: c.Labels,
    }));
  }

  async create(spec: Docker.ContainerCreateOptions): Promise<string> {
    const c = await this.call(`create ${spec.name}`, () => this.docker.createContainer(spec));
    return c.id;
  }

  async start(id: string): Promise<void> {
    await this.call(`start ${id.slice(0, 12)}`, () => this.docker.getContainer(id).start()).catch(
      (err: { statusCode?: number }) => {
        if (err.statusCode !== 304) throw err;
      },
    );
  }

  inspect(id: string): Promise<Docker.ContainerInspectInfo> {
    return this.call(`inspect ${id.slice(0, 12)}`, () => this.docker.getContainer(id).inspect());
  }

  /** Stop with the service's grace period (SIGTERM, then SIGKILL when it is over). */
  async stop(id: string, graceMs: number): Promise<void> {
    const t = Math.ceil(graceMs / 1000);
    await this.call(`stop ${id.slice(0, 12)}`, () => this.docker.getContainer(id).stop({ t }), graceMs + CALL_MS).catch(
      (err: { statusCode?: number }) => {
        if (err.statusCode !== 304 && err.statusCode !== 404) throw err;
      },
    );
  }

  /** Remove a container and its anonymous volumes (the proxy's socket); named volumes stay. */
  async remove(id: string): Promise<void> {
    await this.call(`remove ${id.slice(0, 12)}`, () =>
      this.docker.getContainer(id).remove({ force: true, v: true }),
    ).catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 404) throw err;
    });
  }

  /** Copy a tar archive into a container (a file for the proxy to load). */
  async putArchive(id: string, dir: string, tar: Buffer): Promise<void> {
    await this.call(`copy into ${id.slice(0, 12)}`, () => this.docker.getContainer(id).putArchive(tar, { path: dir }));
  }

  /** Run a command in a running container; returns its exit code and output. */
  async exec(id: string, cmd: string[], ms = CALL_MS): Promise<{ exitCode: number | null; output: string }> {
    return this.call(
      `exec ${cmd[0]}`,
      async () => {
        const container = this.docker.getContainer(id);
        const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
        const stream = await exec.start({ hijack: true, stdin: false });
        let output = '';
        const sink = new PassThrough();
        sink.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
        this.docker.modem.demuxStream(stream, sink, sink);
        await new Promise<void>((resolve, reject) => {
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', reject);
        });
        const info = await exec.inspect();
        return { exitCode: info.ExitCode, output };
      },
      ms,
    );
  }

  /**
   * Run a container to its end with a deadline (a verify suite): output goes to onOutput as it
   * comes; the container is removed afterwards whatever happens.
   */
  async runToEnd(
    spec: Docker.ContainerCreateOptions,
    ms: number,
    onOutput: (text: string) => void,
  ): Promise<{ exitCode: number | null; timedOut: boolean }> {
    const id = await this.create({ ...spec, AttachStdout: true, AttachStderr: true, Tty: false });
    const container = this.docker.getContainer(id);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void container.kill().catch(() => undefined);
    }, ms);
    try {
      const stream = await this.call('attach', () => container.attach({ stream: true, stdout: true, stderr: true }));
      const sink = new PassThrough();
      sink.on('data', (chunk: Buffer) => onOutput(chunk.toString('utf8')));
      this.docker.modem.demuxStream(stream, sink, sink);
      const ended = new Promise<void>((resolve) => stream.on('end', resolve));
      await this.start(id);
      const { StatusCode } = (await this.call('wait', () => container.wait(), ms + CALL_MS)) as { StatusCode: number };
      await Promise.race([ended, new Promise((r) => setTimeout(r, 1_000))]);
      return { exitCode: timedOut ? null : StatusCode, timedOut };
    } finally {
      clearTimeout(timer);
      await this.remove(id).catch(() => undefined);
    }
  }
}
