import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = path.resolve(__dirname, '../scripts/provision.sh');
jest.setTimeout(60_000);

describe('scripts/provision.sh', () => {
  it('finds the running services again in seconds, installing and restarting nothing', async () => {
    const started = Date.now();
    const { stdout } = await run('bash', [script], { env: { ...process.env } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(stdout).not.toMatch(/installing|starting|initialising/);
    expect(stdout).toContain('services ready');
  });

  it('says clearly that a port is taken by something else, without a stack trace', async () => {
    // Clients here hang up abruptly (a connect probe), which is no error of the test's.
    const squatter: Server = createServer((socket) => socket.on('error', () => undefined).end('not postgres\n'));
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as { port: number }).port;
    const data = mkdtempSync(path.join(tmpdir(), 'dockyard-provision-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, DOCKYARD_DATA_DIR: data, DOCKYARD_PG_PORT: String(port) };
      delete env.DATABASE_URL;
      const failed = await run('bash', [script], { env }).then(
        () => null,
        (err: { code: number; stderr: string }) => err,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr.trim()).toBe(
        `[provision] ERROR: port ${port} is taken by something that is not Dockyard's PostgreSQL; set DATABASE_URL or DOCKYARD_PG_PORT`,
      );
    } finally {
      squatter.close();
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('says which variable is wrong when a configured service does not answer', async () => {
    const failed = await run('bash', [script], { env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1' } }).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.stderr.trim()).toBe('[provision] ERROR: REDIS_URL is set but Redis does not answer PING there');
  });
});
