import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { ImageBuildError, OperationCancelledError, type OutputSink } from './docker-engine';

export interface ImageBuildRequest {
  /** A directory holding the build context (the CLI applies its .dockerignore). */
  contextDir: string;
  /** The Dockerfile, relative to contextDir. */
  dockerfile: string;
  tags: string[];
  /** A multi-stage build's stage to stop at. */
  target?: string;
  buildArgs: Record<string, string>;
  /** Image labels: set by BuildKit on the image config, no extra build steps. */
  labels: Record<string, string>;
  /**
   * RUN steps get a network or none. BuildKit on dockerd 20.10 ignores --memory, --cpu-quota and
   * --cgroup-parent for RUN steps (checked: each step gets its own unlimited cgroup under
   * docker/buildkit), so BUILD_MEMORY and BUILD_CPUS cannot be enforced on build steps there.
   */
  network: boolean;
  /** id → value for `RUN --mount=type=secret,id=…`; handed over in the CLI's environment only. */
  secrets: Record<string, string>;
  /** Images whose inline cache may serve this build (missing ones are skipped by BuildKit). */
  cacheFrom: string[];
  timeoutMs: number;
  signal?: AbortSignal;
  onOutput: OutputSink;
}

/** How long the CLI gets to cancel the build on the engine after SIGTERM before it is killed. */
const KILL_GRACE_MS = 5_000;
const TAIL_LINES = 60;

/**
 * Image builds with BuildKit, through Debian's docker CLI (`DOCKER_BUILDKIT=1 docker build`) against
 * the worker's engine: the Engine API's classic builder knows no RUN --mount, no secrets and no
 * .dockerignore for a tar context, and BuildKit over the raw API needs a gRPC session that the CLI
 * already implements. Every image carries its inline cache, so another engine can reuse its layers.
 */
@Injectable()
export class BuildKitCli implements OnModuleDestroy {
  private readonly cli: string;
  private readonly host: string;
  /** A DOCKER_CONFIG of our own: registry credentials for cache imports, nothing from the host's user. */
  private readonly configDir: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.cli = config.docker.cli;
    this.host = config.docker.host;
    this.configDir = mkdtempSync(path.join(tmpdir(), 'dockyard-docker-config-'));
    const { username, password } = config.registry;
    const auths = username
      ? {
          [new URL(config.registry.url).host]: {
            auth: Buffer.from(`${username}:${password ?? ''}`).toString('base64'),
          },
        }
      : {};
    writeFileSync(path.join(this.configDir, 'config.json'), JSON.stringify({ auths }), { mode: 0o600 });
  }

  onModuleDestroy(): void {
    rmSync(this.configDir, { recursive: true, force: true });
  }

  /** Build; output goes to onOutput line by line with secret values masked. Returns the image id. */
  async build(req: ImageBuildRequest): Promise<{ imageId: string }> {
    if (req.signal?.aborted) throw new OperationCancelledError('cancelled');
    const work = mkdtempSync(path.join(tmpdir(), 'dockyard-build-'));
    const iidfile = path.join(work, 'iid');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: work,
      DOCKER_HOST: this.host,
      DOCKER_CONFIG: this.configDir,
      DOCKER_BUILDKIT: '1',
      BUILDKIT_PROGRESS: 'plain',
    };
    const args = ['build', '--progress=plain', '--iidfile', iidfile, '-f', path.join(req.contextDir, req.dockerfile)];
    for (const tag of req.tags) args.push('--tag', tag);
    if (req.target) args.push('--target', req.target);
    for (const [k, v] of Object.entries(req.buildArgs)) args.push('--build-arg', `${k}=${v}`);
    // Inline cache: the pushed image's config says which layers it can serve to another engine.
    args.push('--build-arg', 'BUILDKIT_INLINE_CACHE=1');
    for (const [k, v] of Object.entries(req.labels)) args.push('--label', `${k}=${v}`);
    for (const ref of req.cacheFrom) args.push('--cache-from', ref);
    if (!req.network) args.push('--network', 'none');
    Object.entries(req.secrets).forEach(([id, value], i) => {
      env[`DOCKYARD_SECRET_${i}`] = value;
      args.push('--secret', `id=${id},env=DOCKYARD_SECRET_${i}`);
    });
    args.push(req.contextDir);

    const mask = secretMask(Object.values(req.secrets));
    const tail: string[] = [];
    let partial = '';
    const emit = (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const clean = mask(line);
        tail.push(clean);
        if (tail.length > TAIL_LINES) tail.shift();
        req.onOutput(`${clean}\n`);
      }
    };

    try {
      const child = spawn(this.cli, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (chunk: Buffer) => emit(chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => emit(chunk.toString('utf8')));
      let stopped: 'timeout' | 'cancelled' | null = null;
      // SIGTERM makes the CLI cancel the solve on the engine; SIGKILL if it does not go.
      const stop = (why: 'timeout' | 'cancelled') => {
        if (stopped) return;
        stopped = why;
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
      };
      const timer = setTimeout(() => stop('timeout'), req.timeoutMs);
      const onAbort = () => stop('cancelled');
      req.signal?.addEventListener('abort', onAbort, { once: true });
      const code = await new Promise<number | null>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', resolve);
      }).finally(() => {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
      });
      if (partial) emit('\n');
      if (stopped === 'cancelled') throw new OperationCancelledError('cancelled');
      if (stopped === 'timeout') throw new ImageBuildError(`stopped after ${req.timeoutMs} ms (BUILD_TIMEOUT)`);
      if (code !== 0) throw buildError(tail);
      return { imageId: readFileSync(iidfile, 'utf8').trim() };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(`the docker CLI ${this.cli} is missing (DOCKER_CLI; Debian: apt-get install docker.io)`, {
          cause: err,
        });
      }
      throw err;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}

/** Replace every secret value in a line of output. */
function secretMask(values: string[]): (line: string) => string {
  const parts = values
    .flatMap((v) => [v, ...v.split('\n')])
    .map((v) => v.trim())
    .filter((v) => v.length >= 3)
    .sort((a, b) => b.length - a.length);
  if (!parts.length) return (line) => line;
  return (line) => parts.reduce((text, v) => text.split(v).join('***'), line);
}

/**
 * What went wrong, from the end of the CLI's output: the author's mistakes (a Dockerfile that does
 * not parse, a step that fails, a frontend that cannot be pulled) are ImageBuildError, so the build
 * fails for good; an engine that cannot be reached is a plain Error, so the build is retried.
 */
export function buildError(tail: string[]): Error {
  const text = tail.join('\n');
  if (/Cannot connect to the Docker daemon|error during connect/i.test(text)) {
    return new Error(`the Docker Engine is unreachable: ${lastMeaningful(tail)}`);
  }
  const parse = /dockerfile parse error line (\d+): (.+)$/m.exec(text);
  if (parse) return new ImageBuildError(`Dockerfile line ${parse[1]}: ${parse[2].trim()}`);
  const frontend = /resolve image config for (\S+)/.exec(text);
  if (frontend && /frontend gateway/.test(text)) {
    return new ImageBuildError(
      `the Dockerfile's "# syntax=" frontend ${frontend[1].replace(/:$/, '')} cannot be pulled: ${lastMeaningful(tail)
        .replace(/^failed to solve with frontend [^:]+: /, '')
        .replace(/^failed to solve with frontend [^:]+: /, '')}`,
    );
  }
  return new ImageBuildError(lastMeaningful(tail));
}

function lastMeaningful(tail: string[]): string {
  const lines = tail.map((l) => l.trim()).filter(Boolean);
  const failure = [...lines].reverse().find((l) => /^(failed to solve|error:|ERROR:)/i.test(l));
  return (failure ?? lines.at(-1) ?? 'docker build failed').replace(/^error: /i, '');
}
