import { DockerEngine, LABELS } from '@dockyard/docker';
import { Reconciler } from '@dockyard/pipeline';
import { JobQueue } from '@dockyard/queue';
import { RegistryClient } from '@dockyard/registry';
import { TestApp, eventually, startApp } from './support/app';
import { containerExists, leftoverContainer } from './support/dead-attempt';
import { SCRATCH_DOCKERFILE } from './support/git-repo';
import { Scenario } from './support/scenario';

jest.setTimeout(240_000);

/**
 * A worker that dies while a promotion's stage tests run leaves the promotion `testing`, its test
 * runs `running`, a lease nobody renews and a test container. These specs leave a promotion exactly
 * so (as a SIGKILLed worker does) and check that the next worker resumes it, that the watchdog ends
 * it, and that the dead attempt's containers go.
 */
describe('no promotion is ever stuck: leases on stage tests, the watchdog', () => {
  let t: TestApp;
  let s: Scenario;
  let docker: DockerEngine;
  let digest: string;

  beforeAll(async () => {
    // The watchdog runs only when a spec calls it, so that a takeover is the worker's own doing.
    t = await startApp({ RECONCILE_INTERVAL: '1h', WORKER_LEASE: '3s' });
    s = new Scenario(t);
    docker = t.app.get(DockerEngine);
    await s.user('admin', 'admin', ['admin']);
    await s.register('admin');
    digest = await pushWithSmoke('1', 'test -f /app/v');
  });

  afterAll(async () => {
    for (const c of await docker.containers({ [LABELS.promotion]: null }).catch(() => []))
      await docker.removeContainer(c.id).catch(() => undefined);
    await t?.close();
    s?.remove();
  });

  /** A passed build whose image enters dev, with a stage test `smoke` before `test`; its digest. */
  function pushWithSmoke(version: string, smoke: string): Promise<string> {
    const file = [`image: ${s.image}`, 'stages:', '  - { name: dev, auto: true }', '  - name: test', '    test:'];
    file.push(`      - { name: smoke, run: "${smoke}" }`);
    return s.pushAndBuild(
      { Dockerfile: SCRATCH_DOCKERFILE, 'app/v': version, '.dockyard.yml': file.join('\n') },
      'admin',
    );
  }

  /** The rows and the container a worker SIGKILLed in the middle of a stage test leaves behind. */
  async function deadAttempt(attempts = 1): Promise<{ promotionId: string; containerId: string }> {
    const project = await t.prisma.project.findFirstOrThrow({ where: { owner: s.owner } });
    const image = await t.prisma.image.findFirstOrThrow({ where: { projectId: project.id, digest } });
    const stage = await t.prisma.stage.findFirstOrThrow({ where: { projectId: project.id, name: 'test' } });
    const promotion = await t.prisma.promotion.create({
      data: {
        projectId: project.id,
        imageId: image.id,
        digest,
        fromStage: 'dev',
        toStageId: stage.id,
        status: 'testing',
        reason: 'running 1 test(s) before test',
        channel: 'api',
        attempts,
        leaseToken: 'the-dead-attempt',
        leaseUntil: new Date(Date.now() - 1_000),
        testRuns: {
          create: [{ position: 0, name: 'smoke', command: 'test -f /app/v', status: 'running', startedAt: new Date() }],
        },
      },
    });
    const ref = `${t.app.get(RegistryClient).engineRef(image.repository)}@${digest}`;
    await docker.ensureImage(ref, t.app.get(RegistryClient).engineAuth());
    const containerId = await leftoverContainer(docker, ref, { [LABELS.promotion]: promotion.id });
    return { promotionId: promotion.id, containerId };
  }

  const exists = (id: string) => containerExists(docker, id);

  it('leaves the containers of stage tests that a live attempt runs to it (the watchdog took them for a build’s by their image’s label and killed them: exit code 137)', async () => {
    const slow = await pushWithSmoke('2', 'sleep 4');
    const asked = await s.promote('admin', slow, 'test').expect(202);
    await eventually(
      async () =>
        (await s.promotion(asked.body.id, 'admin')).testRuns?.some((r: { status: string }) => r.status === 'running'),
      60_000,
      'the stage test to run',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    await t.app.get(Reconciler).reconcile();
    expect(await s.settled(asked.body.id, 'admin')).toMatchObject({
      status: 'promoted',
      testRuns: [expect.objectContaining({ status: 'passed' })],
    });
  });

  it('resumes a re-delivered promotion whose worker died mid-test (its container used to stay while it ran again) and removes that container', async () => {
    const { promotionId, containerId } = await deadAttempt();
    // BullMQ hands the stalled job to the next worker.
    await t.app.get(JobQueue).add('promotion.run', { promotionId, at: 1 });
    const p = await s.settled(promotionId, 'admin');
    expect(p).toMatchObject({ status: 'promoted', testRuns: [expect.objectContaining({ status: 'passed' })] });
    expect(await exists(containerId)).toBe(false);
    const row = await t.prisma.promotion.findUniqueOrThrow({ where: { id: promotionId } });
    expect(row).toMatchObject({ attempts: 2, leaseToken: null, leaseUntil: null });
  });

  it('leaves tests a live attempt holds to it: a second job does not run them twice', async () => {
    const { promotionId, containerId } = await deadAttempt();
    await t.prisma.promotion.update({
      where: { id: promotionId },
      data: { leaseToken: 'a-live-attempt', leaseUntil: new Date(Date.now() + 60_000) },
    });
    await t.app.get(JobQueue).add('promotion.run', { promotionId, at: 2 });
    await new Promise((r) => setTimeout(r, 3_000));
    const row = await t.prisma.promotion.findUniqueOrThrow({ where: { id: promotionId }, include: { testRuns: true } });
    expect(row).toMatchObject({ status: 'testing', attempts: 1, leaseToken: 'a-live-attempt' });
    expect(row.testRuns.map((r) => r.status)).toEqual(['running']);
    expect(await exists(containerId)).toBe(true);
    await docker.removeContainer(containerId);
  });

  it('runs the tests of a promotion left testing without a live lease again, and sweeps its container (the watchdog)', async () => {
    const { promotionId, containerId } = await deadAttempt();
    // No job at all: the queue lost it, or it failed for stalling too often.
    await t.app.get(Reconciler).reconcile();
    expect(await exists(containerId)).toBe(false);
    expect((await s.settled(promotionId, 'admin')).status).toBe('promoted');
  });

  it('ends a promotion whose worker was lost three times in failed, with the reason, and no test run left running', async () => {
    const { promotionId, containerId } = await deadAttempt(3);
    await t.app.get(Reconciler).reconcile();
    const p = await s.settled(promotionId, 'admin');
    expect(p.status).toBe('failed');
    expect(p.reason).toMatch(/the worker running its stage tests was lost 3 times \(its lease ran out at /);
    expect(p.testRuns).toEqual([expect.objectContaining({ name: 'smoke', status: 'cancelled' })]);
    expect(await exists(containerId)).toBe(false);
  });
});
