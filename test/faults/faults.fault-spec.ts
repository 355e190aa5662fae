import request from 'supertest';
import { eventually } from '../support/app';
import { Cluster, Project } from './cluster';

jest.setTimeout(600_000);

/** Pushes in the Redis case (the issue asks 50; bounded here so the suite runs in minutes on 2 cores). */
const PUSHES = Number(process.env.FAULT_PUSHES ?? 20);

/**
 * Fault injection: one thing breaks at a time while pushes are in flight, and afterwards every build
 * and promotion is final, none ran twice, no row is running, no container is left, and every stage's
 * tag equals its record (Cluster.assertSettled). Everything broken here is the suite's own.
 */
describe('faults: nothing stuck, nothing lost', () => {
  const cluster = new Cluster();
  const report: string[] = [];

  beforeAll(async () => {
    await cluster.start();
    await cluster.worker('shared');
  });

  afterAll(async () => {
    console.log(`fault suite:\n${report.join('\n')}`);
    await cluster.stop();
  });

  const build = async (id: string) =>
    (await request(cluster.api.url).get(`/api/v1/builds/${id}`).set(cluster.auth())).body;
  const running = async (ids: string[]) =>
    (await Promise.all(ids.map(build))).some(
      (b) => b.status === 'running' && b.testRuns?.some((t: { status: string }) => t.status === 'running'),
    );
  const burst = async (project: Project, n: number) => Promise.all(Array.from({ length: n }, () => project.push()));
  const settled = async (name: string) => {
    const r = await cluster.assertSettled();
    report.push(
      `  ${name}: settled ${r.ms} ms after the fault (${r.builds} builds, ${r.promotions} promotions so far)`,
    );
  };

  /** A build that passed, in dev, and a promotion of its digest to `test` (stage tests run in a worker). */
  async function promotion(project: Project): Promise<{ id: string; digest: string }> {
    const id = await project.push();
    const b = await eventually(
      async () => ((await build(id)).status === 'passed' ? build(id) : null),
      120_000,
      'build',
    );
    const res = await request(cluster.api.url)
      .post('/api/v1/promotions')
      .set(cluster.auth())
      .send({ project: project.slug, digest: b.image.digest, to: 'test' })
      .expect(202);
    return { id: res.body.id, digest: b.image.digest };
  }
  const promotionStatus = async (id: string) =>
    (await request(cluster.api.url).get(`/api/v1/promotions/${id}`).set(cluster.auth())).body;

  it('SIGKILL of the worker mid-build: the next worker resumes the builds', async () => {
    const project = await cluster.project(3);
    const ids = await burst(project, 6);
    await eventually(() => running(ids), 120_000, 'a test to be running');
    await cluster.workers[0].kill('SIGKILL');
    await cluster.worker('shared');
    await settled('worker SIGKILLed mid-build');
    const builds = await Promise.all(ids.map(build));
    expect(builds.map((b) => b.status)).toEqual(ids.map(() => 'passed'));
  });

  it('SIGKILL of the worker mid-promotion: the stage tests run again and the promotion ends', async () => {
    const project = await cluster.project(0, 6);
    const p = await promotion(project);
    await eventually(async () => (await promotionStatus(p.id)).status === 'testing', 30_000, 'stage tests');
    await eventually(
      async () => (await promotionStatus(p.id)).testRuns?.some((t: { status: string }) => t.status === 'running'),
      60_000,
      'a stage test to be running',
    );
    await cluster.workers.at(-1)!.kill('SIGKILL');
    await cluster.worker('shared');
    await settled('worker SIGKILLed mid-promotion');
    const end = await promotionStatus(p.id);
    expect(`${end.status} ${JSON.stringify(end)}`).toMatch(/^promoted /);
  });

  it('dockerd killed mid-test: the builds on that engine end (retried, or ended with the reason)', async () => {
    await cluster.worker('extra');
    const project = await cluster.project(4);
    const ids = await burst(project, 6);
    await eventually(async () => (await cluster.testsOnExtraEngine()) > 0, 120_000, 'a test on the extra engine');
    await cluster.engine.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 2_000)); // the engine stays down a moment
    await cluster.engine.start();
    await settled('dockerd killed mid-test');
    // A test whose container died with its engine may end as timed out (failed): final, with the reason.
    for (const b of await Promise.all(ids.map(build))) {
      expect(['passed', 'failed', 'error']).toContain(b.status);
      if (b.status !== 'passed') expect(b.reason).toBeTruthy();
    }
  });

  it(`Redis restarted in the middle of a burst of ${PUSHES} pushes: every push is built`, async () => {
    const projects = await Promise.all([0, 1, 2, 3, 4].map(() => cluster.project(0)));
    const half = Math.ceil(PUSHES / 10);
    const first = Promise.all(projects.map((p) => burst(p, half)));
    await new Promise((r) => setTimeout(r, 1_000));
    await cluster.redis.kill('SIGKILL');
    const second = Promise.all(projects.map((p) => burst(p, PUSHES / 5 - half)));
    await new Promise((r) => setTimeout(r, 2_000));
    await cluster.redis.start();
    const ids = [...(await first), ...(await second)].flat();
    expect(ids).toHaveLength(PUSHES);
    await settled(`Redis restarted mid-burst (${PUSHES} pushes)`);
    const builds = await Promise.all(ids.map(build));
    expect(builds.filter((b) => b.status !== 'passed').map((b) => `${b.status}: ${b.reason}`)).toEqual([]);
  });

  it('PostgreSQL restarted while builds run: deliveries answered 503 are redelivered, and every build ends', async () => {
    const project = await cluster.project(3);
    const ids = await burst(project, 4);
    await eventually(() => running(ids), 120_000, 'a test to be running');
    await cluster.pg.kill();
    const during = project.push(); // answered 503 while Postgres is down, then redelivered
    await new Promise((r) => setTimeout(r, 3_000));
    await cluster.pg.start();
    ids.push(await during);
    await settled('PostgreSQL restarted');
    for (const b of await Promise.all(ids.map(build))) expect(['passed', 'error']).toContain(b.status);
  });

  it('registry stopped mid-promotion: the promotion fails cleanly, the stage keeps its tag, a retry promotes', async () => {
    const project = await cluster.project(0, 4);
    const p = await promotion(project);
    await eventually(async () => (await promotionStatus(p.id)).status === 'testing', 30_000, 'stage tests');
    await cluster.registry.kill('SIGKILL');
    const failed = await eventually(
      async () => {
        const s = await promotionStatus(p.id);
        return !['waiting', 'testing', 'promoting'].includes(s.status) && s;
      },
      120_000,
      'the promotion to end',
    );
    expect(`${failed.status} ${JSON.stringify(failed)}`).toMatch(/^failed /);
    await cluster.registry.start();
    await settled('registry stopped mid-promotion');
    const retry = await request(cluster.api.url)
      .post('/api/v1/promotions')
      .set(cluster.auth())
      .send({ project: project.slug, digest: p.digest, to: 'test' });
    expect([201, 202]).toContain(retry.status);
    await eventually(async () => (await promotionStatus(retry.body.id)).status === 'promoted', 120_000, 'the retry');
    await settled('promotion retried after the registry came back');
  });
});
