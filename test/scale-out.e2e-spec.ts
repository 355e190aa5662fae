import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import request from 'supertest';
import { deliver, eventually, pushPayload, registerProject, WEBHOOK_SECRET } from './support/app';
import { createTestDatabase } from './support/database';
import { DockerHost, startDockerHost } from './support/docker-host';
import { GitRepo, SCRATCH_DOCKERFILE } from './support/git-repo';
import { DockyardProcess, adminToken, assertBuilt } from './support/processes';

jest.setTimeout(300_000);

const BUILDS = 6;

/**
 * Scale-out as users run it: `npm run start:api` once and `npm run start:worker` twice, each worker
 * on its own Docker Engine (DOCKER_HOST) with its own git cache, all on one Postgres and one Redis.
 */
describe('one api and two workers on two Docker Engines', () => {
  const repo = new GitRepo();
  const owner = `scale${randomBytes(3).toString('hex')}`;
  const caches = [0, 1].map(() => mkdtempSync(path.join(tmpdir(), 'dockyard-git-')));
  let engine: DockerHost;
  let db: { url: string; drop(): Promise<void> };
  let api: DockyardProcess;
  let workers: DockyardProcess[] = [];
  let token: string;

  beforeAll(async () => {
    assertBuilt();
    engine = await startDockerHost({ name: 'rec-scale', bridge: 'dk3br', subnet: '172.30.0.1/16' });
    db = await createTestDatabase();
    const env = {
      DATABASE_URL: db.url,
      QUEUE_PREFIX: `s${randomBytes(4).toString('hex')}`,
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      LOG_LEVEL: 'info',
      WORKER_CONCURRENCY: '1',
    };
    api = await new DockyardProcess('api', env).start();
    workers = await Promise.all(
      [process.env.DOCKER_HOST!, engine.socket].map((host, i) =>
        new DockyardProcess('worker', { ...env, DOCKER_HOST: host, GIT_CACHE_DIR: caches[i] }).start(),
      ),
    );
    token = adminToken(env);
    await registerProject(api.url, token, owner, 'web', repo.cloneUrl);
  });

  afterAll(async () => {
    for (const p of [api, ...workers]) await p?.remove();
    await engine?.destroy();
    await db?.drop();
    repo.remove();
    for (const c of caches) rmSync(c, { recursive: true, force: true });
  });

  it('shares pushes between both workers, and runs each build exactly once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < BUILDS; i++) {
      const branch = `b${i}`;
      const sha = repo.commit(
        {
          Dockerfile: SCRATCH_DOCKERFILE,
          'app/test.sh': `echo branch ${i}; sleep 2\n`,
          '.dockyard.yml': `image: ${owner}/web\ntest:\n  - { name: unit, run: sh /app/test.sh }\n`,
        },
        `change ${i}`,
        branch,
      );
      ids.push((await deliver(api.url, pushPayload(owner, 'web', sha, branch)).expect(202)).body.buildId);
    }
    const auth = { Authorization: `Bearer ${token}` };
    const builds = await eventually(
      async () => {
        const all = await Promise.all(
          ids.map(async (id) => (await request(api.url).get(`/api/v1/builds/${id}`).set(auth)).body),
        );
        return all.every((b) => !['queued', 'running'].includes(b.status)) && all;
      },
      240_000,
      'every build to finish',
    );
    expect(builds.map((b) => b.status)).toEqual(ids.map(() => 'passed'));

    const ranOn: Record<number, number> = {};
    for (const id of ids) {
      const log = (await request(api.url).get(`/api/v1/builds/${id}/logs`).set(auth)).text;
      // Exactly one attempt, one image build and one passing end per build.
      const attempts = [...log.matchAll(/attempt (\d+) on worker [^/]+\/(\d+) /g)];
      expect(attempts).toHaveLength(1);
      expect(attempts[0][1]).toBe('1');
      expect(log.match(/build passed/g)).toHaveLength(1);
      const pid = Number(attempts[0][2]);
      ranOn[pid] = (ranOn[pid] ?? 0) + 1;
    }
    // Both workers took builds, and each image was built on its worker's own engine.
    expect(Object.keys(ranOn).map(Number).sort()).toEqual(workers.map((w) => w.pid).sort());
    const extra = new Docker({ socketPath: engine.socket.slice('unix://'.length) });
    const onExtra = (await extra.listImages())
      .flatMap((i) => i.RepoTags ?? [])
      .filter((t) => t.includes(`${owner}/web`));
    expect(onExtra).toHaveLength(ranOn[workers[1].pid]);
  });
});
