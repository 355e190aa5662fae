import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Queue } from 'bullmq';
import { PrismaPg } from '@prisma/adapter-pg';
import request from 'supertest';
import { PrismaClient } from '@dockyard/db';
import { redisOptions } from '@dockyard/queue';
import { startApp, eventually } from './support/app';
import { createTestDatabase } from './support/database';
import { freePort } from './support/net';
import { GitRepo, SCRATCH_DOCKERFILE } from './support/git-repo';

jest.setTimeout(120_000);
const root = path.resolve(__dirname, '..');

describe('readiness', () => {
  it('answers 200 with everything up, and 503 naming Redis when Redis stops', async () => {
    const port = await freePort();
    const dir = `/tmp/dockyard-redis-${port}`;
    execFileSync('mkdir', ['-p', dir]);
    const startRedis = () =>
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''], {
        stdio: 'ignore',
      });
    let redis = startRedis();
    const t = await startApp({ REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      const up = await eventually(async () => {
        const res = await request(t.url).get('/readyz');
        return res.status === 200 && res;
      });
      expect(Object.keys(up.body.details)).toEqual(['postgres', 'redis', 'docker', 'registry']);
      redis.kill('SIGKILL');
      const down = await eventually(async () => {
        const res = await request(t.url).get('/readyz');
        return res.status === 503 && res;
      }, 10_000);
      expect(Object.keys(down.body.error)).toEqual(['redis']);
      expect(down.body.details.postgres.status).toBe('up');
      expect((await request(t.url).get('/healthz')).status).toBe(200);

      // Back again: ready again, without a restart of Dockyard.
      redis = startRedis();
      await eventually(async () => (await request(t.url).get('/readyz')).status === 200, 20_000, 'ready again');
    } finally {
      // A clean shutdown waits for Redis (BullMQ closes its connections gracefully), so it runs
      // while Redis is up; the server goes after.
      await t.close();
      redis.kill('SIGKILL');
    }
  });
});

describe('start-up', () => {
  it('stops on a bad env value with a one-line reason', () => {
    let stderr = '';
    try {
      execFileSync(process.execPath, [path.join(root, 'dist/src/main.js')], {
        env: { ...process.env, PORT: 'eighty', REGISTRY_URL: 'ftp://x' },
        stdio: ['ignore', 'ignore', 'pipe'],
        cwd: '/tmp',
      });
    } catch (err) {
      stderr = String((err as { stderr: Buffer }).stderr);
      expect((err as { status: number }).status).toBe(1);
    }
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^dockyard: invalid configuration: PORT="eighty": .*; REGISTRY_URL="ftp:\/\/x": must be an http\(s\) URL$/,
      ),
    ]);
  });
});

describe('worker shutdown', () => {
  let worker: ChildProcess | undefined;
  afterEach(() => worker?.kill('SIGKILL'));

  it('finishes the job in flight on SIGTERM, then exits cleanly', async () => {
    const db = await createTestDatabase();
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
    const prefix = `t${randomBytes(4).toString('hex')}`;
    const queue = new Queue('builds', { connection: redisOptions(process.env.REDIS_URL!), prefix });
    const repo = new GitRepo();
    try {
      const sha = repo.commit({
        Dockerfile: SCRATCH_DOCKERFILE,
        'app/ok': 'x',
        '.dockyard.yml': `image: shutdown-${prefix}/app\ntest:\n  - name: slow\n    run: sleep 3; echo finished\n`,
      });
      const project = await prisma.project.create({
        data: { owner: `shutdown-${prefix}`, name: 'app', cloneUrl: repo.cloneUrl },
      });
      const build = await prisma.build.create({
        data: { projectId: project.id, trigger: 'manual', ref: 'refs/heads/main', branch: 'main', sha },
      });
      worker = spawn(process.execPath, [path.join(root, 'dist/apps/worker/src/main.js')], {
        env: {
          ...process.env,
          DATABASE_URL: db.url,
          QUEUE_PREFIX: prefix,
          LOG_LEVEL: 'error',
          GIT_CACHE_DIR: `/tmp/${prefix}-git`,
          GIT_ALLOW_FILE_URLS: 'true',
        },
        stdio: 'ignore',
      });
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        worker!.on('exit', (code, signal) => resolve({ code, signal })),
      );
      await queue.add('build.run', { buildId: build.id }, { jobId: `build-${build.id}`, attempts: 1 });
      await eventually(
        async () => (await prisma.testRun.findFirst({ where: { buildId: build.id, status: 'running' } })) !== null,
        60_000,
        'the test to be running',
      );
      worker.kill('SIGTERM');
      // Nest closes the app (workers drain, then the pools), then re-raises the signal it got.
      expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
      const after = await prisma.build.findUniqueOrThrow({ where: { id: build.id }, include: { testRuns: true } });
      expect(after.status).toBe('passed');
      expect(after.testRuns[0].output).toContain('finished');
      const job = await queue.getJob(`build-${build.id}`);
      expect(await job?.getState()).toBe('completed');
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await prisma.$disconnect();
      await db.drop();
      repo.remove();
    }
  });
});

describe('shutdown while Redis is away', () => {
  it('drains, then stops within the connection-close grace instead of waiting for Redis forever', async () => {
    const port = await freePort();
    const redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', '/tmp', '--save', ''],
      { stdio: 'ignore' },
    );
    const db = await createTestDatabase();
    const appPort = await freePort();
    const app = spawn(process.execPath, [path.join(root, 'dist/src/main.js')], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        REDIS_URL: `redis://127.0.0.1:${port}`,
        PORT: String(appPort),
        LOG_LEVEL: 'fatal',
      },
      stdio: 'ignore',
    });
    try {
      await eventually(
        async () => (await fetch(`http://127.0.0.1:${appPort}/readyz`).catch(() => null))?.status === 200,
        30_000,
        'ready',
      );
      redis.kill('SIGKILL');
      await eventually(
        async () => (await fetch(`http://127.0.0.1:${appPort}/readyz`)).status === 503,
        10_000,
        'redis down',
      );
      const exited = new Promise<number>((resolve) => app.on('exit', () => resolve(Date.now())));
      const asked = Date.now();
      app.kill('SIGTERM');
      expect((await exited) - asked).toBeLessThan(15_000);
    } finally {
      app.kill('SIGKILL');
      redis.kill('SIGKILL');
      await db.drop();
    }
  });
});
