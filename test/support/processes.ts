import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './net';

const ROOT = path.resolve(__dirname, '../..');
/** What `npm run start`, `start:api` and `start:worker` run. */
export const ENTRIES = {
  all: 'dist/src/main.js',
  api: 'dist/apps/api/src/main.js',
  worker: 'dist/apps/worker/src/main.js',
  cli: 'dist/src/cli.js',
} as const;

/** The specs that start Dockyard as separate processes run the build (`npm test` makes it first). */
export function assertBuilt(): void {
  for (const entry of Object.values(ENTRIES)) {
    if (!existsSync(path.join(ROOT, entry))) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  }
}

/** Dockyard run as its own process (api, worker or both), so that a test can SIGKILL it. */
export class DockyardProcess {
  readonly logFile: string;
  private proc?: ChildProcess;
  private exit?: Promise<void>;
  url = '';

  constructor(
    readonly kind: 'all' | 'api' | 'worker',
    readonly env: Record<string, string>,
  ) {
    this.logFile = path.join(mkdtempSync(path.join(tmpdir(), `dockyard-${kind}-`)), 'out.log');
  }

  get pid(): number {
    return this.proc!.pid!;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async start(): Promise<this> {
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      // Tests build from git repositories on this host's disk (file:// clone URLs).
      GIT_ALLOW_FILE_URLS: 'true',
      ...this.env,
    };
    if (this.kind !== 'worker') env.PORT = env.PORT && env.PORT !== '0' ? env.PORT : String(await freePort());
    const out = openSync(this.logFile, 'a');
    const proc = spawn(process.execPath, [ENTRIES[this.kind]], { cwd: ROOT, env, stdio: ['ignore', out, out] });
    this.proc = proc;
    this.exit = new Promise((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + 60_000;
    this.url = this.kind === 'worker' ? '' : `http://127.0.0.1:${env.PORT}`;
    while (!(await this.ready())) {
      if (!this.running) throw new Error(`${this.kind} exited at start:\n${this.log().slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`${this.kind} not ready within 60 s:\n${this.log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return this;
  }

  private async ready(): Promise<boolean> {
    if (this.kind === 'worker') return this.log().includes('worker started');
    try {
      const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1_000) });
      return res.ok && ((await res.json()) as { pid?: number }).pid === this.pid;
    } catch {
      return false;
    }
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** Send a signal; resolves when the process is gone, or rejects after `ms`. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', ms = 60_000): Promise<number> {
    if (!this.running) return 0;
    const started = Date.now();
    this.proc!.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.exit,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${this.kind} still running ${ms} ms after ${signal}`)), ms);
      }),
    ]).finally(() => clearTimeout(timer));
    return Date.now() - started;
  }

  async remove(): Promise<void> {
    await this.kill('SIGKILL').catch(() => undefined);
    rmSync(path.dirname(this.logFile), { recursive: true, force: true });
  }
}

/** An admin's API token made with the CLI (`npm run dockyard -- create-token`), as a person would. */
export function adminToken(env: Record<string, string>, login = 'admin'): string {
  const run = (...args: string[]) =>
    execFileSync(process.execPath, [ENTRIES.cli, ...args], {
      cwd: ROOT,
      env: { ...(process.env as Record<string, string>), ...env },
      encoding: 'utf8',
    });
  run('create-user', login, '--role', 'admin', '--password', 'a long password 123');
  return run('create-token', login, '--scopes', 'admin').trim().split('\n').pop()!;
}
