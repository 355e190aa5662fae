import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase } from './support/database';
import { freePort } from './support/net';
import { assertBuilt } from './support/processes';

const run = promisify(execFile);
const script = path.resolve(__dirname, '../scripts/start-app.sh');
jest.setTimeout(120_000);

/** An old app that ignores SIGTERM (a job that hangs) and answers /healthz with its pid. */
function stubbornApp(port: number): ChildProcess {
  const code = `process.on('SIGTERM', () => {});
    require('node:http').createServer((_, res) => res.end(JSON.stringify({ status: 'ok', pid: process.pid })))
      .listen(${port}, '127.0.0.1');`;
  return spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
}

const answers = async (url: string) => (await fetch(`${url}/healthz`)).json() as Promise<{ pid: number }>;

/** `npm run up` starts the app through scripts/start-app.sh: the app it started must be the one answering. */
describe('scripts/start-app.sh (the last step of npm run up)', () => {
  const data = mkdtempSync(path.join(tmpdir(), 'dockyard-up-'));
  let db: { url: string; drop(): Promise<void> };
  let port: number;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    assertBuilt();
    db = await createTestDatabase();
    port = await freePort();
    env = {
      ...process.env,
      DATABASE_URL: db.url,
      PORT: String(port),
      QUEUE_PREFIX: `u${process.pid}`,
      DOCKYARD_DATA_DIR: data,
      DOCKYARD_STOP_WAIT: '2',
      SHUTDOWN_GRACE: '1s',
    };
  });

  afterAll(async () => {
    try {
      process.kill(Number(readFileSync(path.join(data, 'app.pid'), 'utf8')), 'SIGKILL');
    } catch {
      // already gone
    }
    await db?.drop();
    rmSync(data, { recursive: true, force: true });
  });

  it('kills an old app that ignores SIGTERM (it used to stay, and the new one died on EADDRINUSE) and checks the new pid answers', async () => {
    const old = stubbornApp(port);
    writeFileSync(path.join(data, 'app.pid'), String(old.pid));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 50; i++) {
      if (await answers(url).catch(() => null)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { stdout } = await run('bash', [script], { env });
    expect(stdout).toContain(`[up] the app (pid ${old.pid}) did not exit within 2s of SIGTERM: killing it (SIGKILL)`);
    const pid = Number(readFileSync(path.join(data, 'app.pid'), 'utf8'));
    expect(stdout).toContain(`[up] Dockyard is up (pid ${pid}): ${url}`);
    expect(old.signalCode ?? (await new Promise((r) => old.once('exit', (_, s) => r(s))))).toBe('SIGKILL');
    expect((await answers(url)).pid).toBe(pid);
  });

  it('says so when another process answers on the port, instead of "Dockyard is up"', async () => {
    const squatterPort = await freePort();
    const squatter = stubbornApp(squatterPort);
    try {
      for (let i = 0; i < 50; i++) {
        if (await answers(`http://127.0.0.1:${squatterPort}`).catch(() => null)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const failed = await run('bash', [script], {
        env: {
          ...env,
          PORT: String(squatterPort),
          DOCKYARD_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'dockyard-up-')),
        },
      }).then(
        () => null,
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain(
        `[up] ERROR: another process (pid ${squatter.pid}) already answers on http://127.0.0.1:${squatterPort}; it is not an app this script started`,
      );
      expect(failed?.stdout).not.toContain('Dockyard is up');
    } finally {
      squatter.kill('SIGKILL');
    }
  });
});
