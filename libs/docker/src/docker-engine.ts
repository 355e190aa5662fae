import { Inject, Injectable } from '@nestjs/common';
import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { APP_CONFIG, AppConfig } from '@dockyard/config';

export type OutputSink = (text: string) => void;

export interface BuildOptions {
  /** A tar stream of the build context. */
  context: Readable;
  tag: string;
  dockerfile: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  /** Each build step's container: memory (no swap beyond it), CPUs, and whether it has a network. */
  limits: { memoryBytes: number; cpus: number; network: boolean };
  timeoutMs: number;
  signal?: AbortSignal;
  onOutput: OutputSink;
}

/** The user a test runs as unless its pipeline file says otherwise: nobody, not root. */
export const UNPRIVILEGED_USER = '65534:65534';

export interface RunOptions {
  image: string;
  command: string;
  network: boolean;
  memoryBytes: number;
  cpus: number;
  pids: number;
  /** Default UNPRIVILEGED_USER. */
  user?: string;
  /** Default true: a read-only root filesystem, with a tmpfs at /tmp. */
  readOnlyRoot?: boolean;
  timeoutMs: number;
  labels: Record<string, string>;
  signal?: AbortSignal;
  onOutput: OutputSink;
}

export interface RunResult {
  exitCode: number | null;
  timedOut: boolean;
  cancelled: boolean;
}

/** A build that Docker refused: the Dockerfile or the context is wrong, so a retry will not help. */
export class ImageBuildError extends Error {}
export class OperationCancelledError extends Error {}

/** The Docker Engine API, through dockerode. Nothing else in Dockyard talks to Docker. */
@Injectable()
export class DockerEngine {
  readonly docker: Docker;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.docker = new Docker(DockerEngine.connection(config.docker.host));
  }

  static connection(host: string): Docker.DockerOptions {
    if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    return { host: u.hostname, port: Number(u.port || 2375), protocol: 'http' };
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  /** Build an image with the layer cache; the build's output goes to onOutput as it comes. */
  async build(opts: BuildOptions): Promise<{ imageId: string }> {
    const stream = await this.docker.buildImage(opts.context, {
      t: opts.tag,
      dockerfile: opts.dockerfile,
      buildargs: opts.buildArgs,
      labels: opts.labels,
      rm: true,
      forcerm: true,
      memory: opts.limits.memoryBytes,
      memswap: opts.limits.memoryBytes,
      cpuperiod: 100_000,
      cpuquota: Math.round(opts.limits.cpus * 100_000),
      networkmode: opts.limits.network ? 'default' : 'none',
    });
    const events = await this.follow(stream, opts.timeoutMs, opts.signal, (event) => {
      if (typeof event.stream === 'string') opts.onOutput(event.stream);
      if (event.error) opts.onOutput(`${event.error}\n`);
    });
    const failed = events.find((e) => e.error);
    if (failed) throw new ImageBuildError(String(failed.error).trim());
    const aux = events.find((e) => e.aux && typeof (e.aux as { ID?: string }).ID === 'string');
    const imageId = (aux?.aux as { ID: string } | undefined)?.ID ?? (await this.docker.getImage(opts.tag).inspect()).Id;
    return { imageId };
  }

  /** Push a tag to its registry; returns the manifest digest the registry stored. */
  async push(
    ref: string,
    auth: { username?: string; password?: string; serveraddress: string },
    onOutput: OutputSink,
    signal?: AbortSignal,
  ): Promise<{ digest: string; size: number }> {
    const image = this.docker.getImage(ref);
    const stream = await image.push({ authconfig: auth });
    const events = await this.follow(stream, 30 * 60_000, signal, (event) => {
      if (event.status && !event.progressDetail?.current) {
        onOutput(`${event.id ? `${event.id}: ` : ''}${event.status}\n`);
      }
      if (event.error) onOutput(`${event.error}\n`);
    });
    const failed = events.find((e) => e.error);
    if (failed) throw new Error(`push of ${ref} failed: ${String(failed.error).trim()}`);
    const done = events.find((e) => e.aux && typeof (e.aux as { Digest?: string }).Digest === 'string');
    if (!done) throw new Error(`push of ${ref} reported no digest`);
    const { Digest, Size } = done.aux as { Digest: string; Size: number };
    return { digest: Digest, size: Size };
  }

  /** Make sure an image is on this engine, pulling it (a digest reference pulls exactly that image) if not. */
  async ensureImage(
    ref: string,
    auth: { username?: string; password?: string; serveraddress: string },
    signal?: AbortSignal,
  ): Promise<void> {
    try {
      await this.docker.getImage(ref).inspect();
      return;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
    const stream = (await this.docker.createImage(auth, { fromImage: ref })) as NodeJS.ReadableStream;
    const events = await this.follow(stream, 30 * 60_000, signal, () => undefined);
    const failed = events.find((e) => e.error);
    if (failed) throw new Error(`pull of ${ref} failed: ${String(failed.error).trim()}`);
  }

  /**
   * Run a command in a fresh container, confined (not root, no capabilities, no new privileges, a
   * read-only root with a tmpfs /tmp, limits, no network unless asked) and with a deadline that
   * kills it. The container is removed afterwards whatever happens.
   */
  async run(opts: RunOptions): Promise<RunResult> {
    const readOnly = opts.readOnlyRoot ?? true;
    const container = await this.docker.createContainer({
      Image: opts.image,
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: [opts.command],
      User: opts.user ?? UNPRIVILEGED_USER,
      Env: ['HOME=/tmp'],
      Labels: opts.labels,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      NetworkDisabled: !opts.network,
      HostConfig: {
        NetworkMode: opts.network ? 'bridge' : 'none',
        Memory: opts.memoryBytes,
        MemorySwap: opts.memoryBytes,
        NanoCpus: Math.round(opts.cpus * 1e9),
        PidsLimit: opts.pids,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: readOnly,
        // tmpfs pages count against the container's memory limit, so it cannot outgrow it.
        Tmpfs: readOnly ? { '/tmp': 'rw,nosuid,nodev,mode=1777' } : undefined,
        AutoRemove: false,
      },
    });
    let timedOut = false;
    let cancelled = false;
    const kill = () => container.kill().catch(() => undefined);
    const timer = setTimeout(() => {
      timedOut = true;
      void kill();
    }, opts.timeoutMs);
    const onAbort = () => {
      cancelled = true;
      void kill();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const sink = { write: (chunk: Buffer) => opts.onOutput(chunk.toString('utf8')) };
      container.modem.demuxStream(stream, sink as never, sink as never);
      const ended = new Promise<void>((resolve) => stream.on('end', resolve));
      await container.start();
      if (opts.signal?.aborted) onAbort();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      await Promise.race([ended, new Promise((r) => setTimeout(r, 1_000))]);
      return { exitCode: timedOut || cancelled ? null : StatusCode, timedOut, cancelled };
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  /** Read a JSON-lines progress stream to its end, with a deadline and a cancel signal. */
  private follow(
    stream: NodeJS.ReadableStream,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    onEvent: (event: ProgressEvent) => void,
  ): Promise<ProgressEvent[]> {
    return new Promise((resolve, reject) => {
      const destroy = (err: Error) => {
        (stream as Readable).destroy?.();
        reject(err);
      };
      const timer = setTimeout(() => destroy(new ImageBuildError(`timed out after ${timeoutMs} ms`)), timeoutMs);
      const onAbort = () => destroy(new OperationCancelledError('cancelled'));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, events: ProgressEvent[]) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve(events);
        },
        onEvent,
      );
    });
  }
}

interface ProgressEvent {
  stream?: string;
  status?: string;
  id?: string;
  error?: string;
  progressDetail?: { current?: number };
  aux?: unknown;
}
