import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { CancelledError, withDeadline } from '@dockyard/deadline';

/** Every short Engine API call (create, start, kill, remove, inspect, list) answers within this. */
export const ENGINE_CALL_MS = 30_000;
/** Past a test's deadline: how long the kill, then the exit report, may take before the run gives up on them. */
const KILL_MS = 5_000;
const EXIT_AFTER_KILL_MS = 5_000;
/** Output still in flight after the container exited. */
const OUTPUT_DRAIN_MS = 1_000;
/** How long a push may take in all. */
const PUSH_TIMEOUT_MS = 30 * 60_000;

/** Labels on everything Dockyard starts, so that it finds (and removes) only its own containers. */
export const LABELS = {
  instance: 'dev.dockyard.instance',
  build: 'dev.dockyard.build',
  promotion: 'dev.dockyard.promotion',
  attempt: 'dev.dockyard.attempt',
  test: 'dev.dockyard.test',
} as const;

export type OutputSink = (text: string) => void;

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
export { CancelledError as OperationCancelledError };

export interface LabelledContainer {
  id: string;
  labels: Record<string, string>;
}

/** The Docker Engine API, through dockerode. Nothing else in Dockyard talks to Docker. */
@Injectable()
export class DockerEngine {
  readonly docker: Docker;
  /** This Dockyard's deployment (its database and queues): other deployments' containers are not ours. */
  readonly instance: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.docker = new Docker(DockerEngine.connection(config.docker.host));
    this.instance = DockerEngine.instanceOf(config);
  }

  static instanceOf(config: Pick<AppConfig, 'databaseUrl' | 'queuePrefix'>): string {
    const db = new URL(config.databaseUrl);
    const where = `${db.hostname}:${db.port}${db.pathname}${db.search}|${config.queuePrefix}`;
    return createHash('sha256').update(where).digest('hex').slice(0, 16);
  }

  static connection(host: string): Docker.DockerOptions {
    if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    return { host: u.hostname, port: Number(u.port || 2375), protocol: 'http' };
  }

  async ping(signal?: AbortSignal): Promise<void> {
    await withDeadline(
      'docker ping',
      ENGINE_CALL_MS,
      (abortSignal) => (this.docker.ping as (o: object) => Promise<unknown>).call(this.docker, { abortSignal }),
      signal,
    );
  }

  /** This deployment's containers (running or not) that carry all of `labels` (null: any value). */
  async containers(labels: Record<string, string | null> = {}, signal?: AbortSignal): Promise<LabelledContainer[]> {
    const label = Object.entries({ ...labels, [LABELS.instance]: this.instance }).map(([k, v]) =>
      v === null ? k : `${k}=${v}`,
    );
    const list = await withDeadline(
      'docker list containers',
      ENGINE_CALL_MS,
      (abortSignal) => this.docker.listContainers({ all: true, filters: { label }, abortSignal }),
      signal,
    );
    return list.map((c) => ({ id: c.Id, labels: c.Labels ?? {} }));
  }

  /** Remove one container, running or not; a container already gone is fine. */
  async removeContainer(id: string, signal?: AbortSignal): Promise<void> {
    await withDeadline(
      `docker remove ${id.slice(0, 12)}`,
      ENGINE_CALL_MS,
      (abortSignal) =>
        this.docker
          .getContainer(id)
          .remove({ force: true, abortSignal })
          .catch((err: { statusCode?: number }) => {
            if (err.statusCode !== 404) throw err;
          }),
      signal,
    );
  }

  /** Push a tag to its registry; returns the manifest digest the registry stored. */
  async push(
    ref: string,
    auth: { username?: string; password?: string; serveraddress: string },
    onOutput: OutputSink,
    signal?: AbortSignal,
  ): Promise<{ digest: string; size: number }> {
    const image = this.docker.getImage(ref);
    const stream = await withDeadline(
      `docker push ${ref}`,
      ENGINE_CALL_MS,
      (abortSignal) => image.push({ authconfig: auth, abortSignal }),
      signal,
    );
    const events = await this.follow(stream, PUSH_TIMEOUT_MS, signal, (event) => {
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
      await withDeadline('docker inspect', ENGINE_CALL_MS, () => this.docker.getImage(ref).inspect(), signal);
      return;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
    const stream = (await withDeadline(
      `docker pull ${ref}`,
      ENGINE_CALL_MS,
      (abortSignal) => this.docker.createImage(auth, { fromImage: ref, abortSignal }),
      signal,
    )) as NodeJS.ReadableStream;
    const events = await this.follow(stream, PUSH_TIMEOUT_MS, signal, () => undefined);
    const failed = events.find((e) => e.error);
    if (failed) throw new Error(`pull of ${ref} failed: ${String(failed.error).trim()}`);
  }

  /**
   * Run a command in a fresh container, confined (not root, no capabilities, no new privileges, a
   * read-only root with a tmpfs /tmp, limits, no network unless asked) and with a deadline that
   * kills it. Every Engine call has its own deadline, so the test's timeout holds even when the
   * engine stops answering: the run then ends as timed out and the container is left to the sweep
   * (it carries this deployment's labels). The container is removed afterwards whatever happens.
   */
  async run(opts: RunOptions): Promise<RunResult> {
    const readOnly = opts.readOnlyRoot ?? true;
    const call = <T>(what: string, work: (abortSignal: AbortSignal) => Promise<T>, ms = ENGINE_CALL_MS) =>
      withDeadline(`docker ${what}`, ms, work, opts.signal);
    const container = await call('create container', (abortSignal) =>
      this.docker.createContainer({
        Image: opts.image,
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: [opts.command],
        User: opts.user ?? UNPRIVILEGED_USER,
        Env: ['HOME=/tmp'],
        Labels: { ...opts.labels, [LABELS.instance]: this.instance },
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
        abortSignal,
      } as Docker.ContainerCreateOptions),
    );
    // The test's own clock starts now and fires whatever the engine does.
    const deadline = AbortSignal.timeout(opts.timeoutMs);
    const stop = AbortSignal.any([deadline, ...(opts.signal ? [opts.signal] : [])]);
    let output: NodeJS.ReadableStream | undefined;
    try {
      output = (await call('attach', (abortSignal) =>
        container.attach({ stream: true, stdout: true, stderr: true, abortSignal }),
      )) as NodeJS.ReadableStream;
      const sink = { write: (chunk: Buffer) => opts.onOutput(chunk.toString('utf8')) };
      container.modem.demuxStream(output, sink as never, sink as never);
      const ended = new Promise<void>((resolve) => {
        output!.on('end', resolve);
        output!.on('close', resolve);
        output!.on('error', () => resolve());
      });
      await call('start', (abortSignal) => container.start({ abortSignal }));
      let exited: { StatusCode: number } | null = null;
      try {
        exited = await withDeadline('docker wait', opts.timeoutMs + ENGINE_CALL_MS, (abortSignal) =>
          container.wait({ abortSignal: AbortSignal.any([abortSignal, stop]) }),
        );
      } catch (err) {
        if (!stop.aborted) throw err;
      }
      if (!exited) {
        // Timed out or cancelled: kill it and give it a moment to report; an engine that does not
        // answer cannot hold the worker (the sweep removes the container once the engine is back).
        await withDeadline('docker kill', KILL_MS, (abortSignal) => container.kill({ abortSignal })).catch(
          () => undefined,
        );
        await withDeadline('docker wait', EXIT_AFTER_KILL_MS, (abortSignal) => container.wait({ abortSignal })).catch(
          () => undefined,
        );
        const cancelled = !!opts.signal?.aborted && !deadline.aborted;
        return { exitCode: null, timedOut: !cancelled, cancelled };
      }
      await Promise.race([ended, new Promise((r) => setTimeout(r, OUTPUT_DRAIN_MS))]);
      return { exitCode: exited.StatusCode, timedOut: false, cancelled: false };
    } finally {
      (output as Readable | undefined)?.destroy?.();
      // Bounded like the kill: a container the engine does not remove now is swept by its labels later.
      await withDeadline('docker remove', KILL_MS, (abortSignal) =>
        container.remove({ force: true, abortSignal }),
      ).catch(() => undefined);
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
      const timer = setTimeout(() => destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      const onAbort = () => destroy(new CancelledError('docker'));
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
