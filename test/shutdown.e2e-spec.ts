import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { deliver, eventually, pushPayload, registerProject, WEBHOOK_SECRET } from './support/app';
import { createTestDatabase } from './support/database';
import { GitRepo, SCRATCH_DOCKERFILE } from './support/git-repo';
import { DockyardProcess, adminToken, assertBuilt } from './support/processes';

jest.setTimeout(180_000);

/** SIGTERM while a job hangs: the worker exits within its grace, and the build goes to the next worker. */
describe('bounded shutdown: jobs in flight are handed back', () => {
  const repo = new GitRepo();
  const owner = `stop${randomBytes(3).toString('hex')}`;
  let db: { url: string; drop(): Promise<void> };
  let env: Record<string, string>;
  let api: DockyardProcess;
  const workers: DockyardProcess[] = [];
  let token: string;

  beforeAll(async () => {
    assertBuilt();
    db = await createTestDatabase();
    env = {
      DATABASE_URL: db.url,
      QUEUE_PREFIX: `d${randomBytes(4).toString('hex')}`,
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE: '2s',
      RECONCILE_INTERVAL: '1s',
    };
    api = await new DockyardProcess('api', env).start();
    workers.push(await new DockyardProcess('worker', env).start());
    token = adminToken(env);
    await registerProject(api.url, token, owner, 'web', repo.cloneUrl);
  });

  afterAll(async () => {
    for (const p of [api, ...workers]) await p?.remove();
    await db?.drop();
    repo.remove();
  });

  it('exits within the grace plus a bound on SIGTERM (it used to never exit) and the next worker takes the build', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const sha = repo.commit({
      Dockerfile: SCRATCH_DOCKERFILE,
      'app/test.sh': 'echo hanging; sleep 600\n',
      '.dockyard.yml': `image: ${owner}/web\ntest:\n  - { name: hangs, run: sh /app/test.sh }\n`,
    });
    const { buildId } = (await deliver(api.url, pushPayload(owner, 'web', sha)).expect(202)).body;
    const logs = async () => (await request(api.url).get(`/api/v1/builds/${buildId}/logs`).set(auth)).text;
    await eventually(async () => (await logs()).includes('hanging'), 120_000, 'the test to be running');

    const took = await workers[0].kill('SIGTERM', 40_000);
    expect(took).toBeLessThan(20_000); // 2 s of grace, then the hand-back
    const handedBack = (await request(api.url).get(`/api/v1/builds/${buildId}`).set(auth)).body;
    expect(handedBack).toMatchObject({ status: 'queued', reason: 'handed back: the worker shut down' });
    expect(await logs()).toContain('the worker is shutting down: the build goes back to the queue');

    workers.push(await new DockyardProcess('worker', env).start());
    await eventually(async () => /attempt 2 on worker/.test(await logs()), 60_000, 'the next worker to take the build');
    await request(api.url).post(`/api/v1/builds/${buildId}/cancel`).set(auth).expect(201);
  });
});
