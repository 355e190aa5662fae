import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from './net';

/**
 * Services of a test's own, to break on purpose: a test that stops PostgreSQL, Redis or the registry
 * starts its own instance (own port, own data directory) and never touches the shared ones.
 */
abstract class OwnService {
  protected readonly dir: string;
  protected proc?: ChildProcess;
  port = 0;

  constructor(private readonly kind: string) {
    this.dir = mkdtempSync(path.join(tmpdir(), `dockyard-${kind}-`));
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  protected abstract command(): { file: string; args: string[]; uid?: number; gid?: number };
  protected abstract answers(): Promise<boolean>;

  async start(): Promise<this> {
    if (!this.port) this.port = await freePort();
    const { file, args, uid, gid } = this.command();
    const log = openSync(path.join(this.dir, `${this.kind}.log`), 'a');
    const proc = spawn(file, args, { stdio: ['ignore', log, log], uid, gid, detached: true });
    this.proc = proc;
    const deadline = Date.now() + 30_000;
    while (!(await this.answers())) {
      if (proc.exitCode !== null) throw new Error(`${this.kind} exited (${proc.exitCode}); see ${this.dir}`);
      if (Date.now() > deadline) throw new Error(`${this.kind} did not answer within 30 s; see ${this.dir}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return this;
  }

  /** Stop it the hard way (the process gone at once, as in a crash), and wait until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  }

  async remove(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** PostgreSQL 15 from Debian's binaries, initialised in a temp directory, run as the postgres user. */
export class OwnPostgres extends OwnService {
  private readonly bin = process.env.DOCKYARD_PG_BIN ?? '/usr/lib/postgresql/15/bin';
  private readonly user = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  private readonly group = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());

  constructor() {
    super('postgres');
    chownSync(this.dir, this.user, this.group);
    execFileSync(
      `${this.bin}/initdb`,
      ['-D', path.join(this.dir, 'data'), '-U', 'dockyard', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'],
      { uid: this.user, gid: this.group, stdio: 'ignore' },
    );
  }

  url(database = 'postgres'): string {
    return `postgresql://dockyard@127.0.0.1:${this.port}/${database}`;
  }

  protected command() {
    const args = ['-D', path.join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir];
    args.push('-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200');
    return { file: `${this.bin}/postgres`, args, uid: this.user, gid: this.group };
  }

  protected async answers(): Promise<boolean> {
    const c = new Client({ connectionString: this.url(), connectionTimeoutMillis: 1_000 });
    try {
      await c.connect();
      await c.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  /** A database with every migration applied (through the project's own `npm run migrate`). */
  async migratedDatabase(name = 'dockyard'): Promise<string> {
    const c = new Client({ connectionString: this.url() });
    await c.connect();
    await c.query(`create database "${name}"`).finally(() => c.end());
    const root = path.resolve(__dirname, '../..');
    execFileSync(process.execPath, [path.join(root, 'scripts/migrate.mjs'), 'deploy'], {
      env: { ...process.env, DATABASE_URL: this.url(name) },
      stdio: 'ignore',
    });
    return this.url(name);
  }

  /** A crash: the postmaster is killed with SIGQUIT (immediate stop, as `pg_ctl -m immediate`). */
  override kill(signal: NodeJS.Signals = 'SIGQUIT'): Promise<void> {
    return super.kill(signal);
  }
}

/** redis-server on its own port, with the settings provisioning uses (append-only, no eviction). */
export class OwnRedis extends OwnService {
  constructor() {
    super('redis');
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  protected command() {
    const args = ['--bind', '127.0.0.1', '--port', String(this.port), '--dir', this.dir, '--appendonly', 'yes'];
    args.push('--maxmemory-policy', 'noeviction', '--save', '');
    return { file: 'redis-server', args };
  }

  protected async answers(): Promise<boolean> {
    try {
      return execFileSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' }).trim() === 'PONG';
    } catch {
      return false;
    }
  }
}

/** Debian's docker-registry (distribution 2.x), storing under a temp directory. */
export class OwnRegistry extends OwnService {
  constructor() {
    super('registry');
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  protected command() {
    const config = path.join(this.dir, 'config.yml');
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log: { level: warn }',
        `storage: { filesystem: { rootdirectory: ${this.dir}/data }, delete: { enabled: true } }`,
        `http: { addr: 127.0.0.1:${this.port} }`,
      ].join('\n'),
    );
    return { file: 'docker-registry', args: ['serve', config] };
  }

  protected async answers(): Promise<boolean> {
    try {
      return (await fetch(`${this.url}/v2/`, { signal: AbortSignal.timeout(1_000) })).ok;
    } catch {
      return false;
    }
  }
}
