import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { loadConfig } from '@dockyard/config';
import { DockerEngine, LABELS } from '@dockyard/docker';
import { Reconciler } from '@dockyard/pipeline';
import { JobQueue } from '@dockyard/queue';
import { RegistryClient } from '@dockyard/registry';
import { TestApp, deliver, eventually, pushPayload, registerProject, startApp } from './support/app';
import { containerExists, leftoverContainer } from './support/dead-attempt';
import { FreezableEngine } from './support/frozen-engine';
import { GitRepo, SCRATCH_DOCKERFILE } from './support/git-repo';

jest.setTimeout(180_000);

/**
 * A worker that dies leaves its build `running` with a lease nobody renews, and maybe a container.
 * These specs leave a build exactly so (as a SIGKILLed worker does) and check that the next worker
 * takes it over, that the watchdog ends it, and that engine calls cannot hold a worker forever.
 */
describe('no build is ever stuck: leases, the watchdog, deadlines on the engine', () => {
  const repo = new GitRepo();
  const owner = `rec${randomBytes(3).toString('hex')}`;
  let t: TestApp;
  let admin: string;
  let docker: DockerEngine;
  let imageRef: string;
  let sha: string;

  beforeAll(async () => {
    // The watchdog runs only when a spec calls it, so that a takeover is the worker's own doing.
    t = await startApp({ RECONCILE_INTERVAL: '1h', WORKER_LEASE: '3s', TEST_TIMEOUT: '60s' });
    admin = await t.token(['admin']);
    docker = t.app.get(DockerEngine);
    await registerProject(t.url, admin, owner, 'web', repo.cloneUrl);
    sha = repo.commit({
      Dockerfile: SCRATCH_DOCKERFILE,
      'app/ok.sh': 'echo ok\n',
      '.dockyard.yml': `image: ${owner}/web\ntest:\n  - { name: unit, run: sh /app/ok.sh }\n`,
    });
    const res = await deliver(t.url, pushPayload(owner, 'web', sha)).expect(202);
    const build = await finished(res.body.buildId);
    expect(build.status).toBe('passed');
    imageRef = `${t.app.get(RegistryClient).engineRef(`${owner}/web`)}@${build.image.digest}`;
  });

  afterAll(async () => {
    for (const c of await docker.containers({ [LABELS.build]: null }).catch(() => []))
      await docker.removeContainer(c.id).catch(() => undefined);
    await t?.close();
    repo.remove();
  });

  async function finished(buildId: string) {
    return eventually(
      async () => {
        const res = await request(t.url).get(`/api/v1/builds/${buildId}`).set('Authorization', `Bearer ${admin}`);
        return !['queued', 'running'].includes(res.body.status) && res.body;
      },
      120_000,
      `build ${buildId} to finish`,
    );
  }

  async function logs(buildId: string): Promise<string> {
    return (await request(t.url).get(`/api/v1/builds/${buildId}/logs`).set('Authorization', `Bearer ${admin}`)).text;
  }

  /** The rows and the container a worker SIGKILLed in the middle of a test leaves behind. */
  async function deadAttempt(attempts = 1): Promise<{ buildId: string; containerId: string }> {
    const project = await t.prisma.project.findFirstOrThrow({ where: { owner } });
    const build = await t.prisma.build.create({
      data: {
        projectId: project.id,
        trigger: 'push',
        ref: 'refs/heads/main',
        branch: `dead-${randomBytes(3).toString('hex')}`,
        sha,
        status: 'running',
        startedAt: new Date(Date.now() - 10_000),
        attempts,
        leaseToken: 'the-dead-attempt',
        leaseUntil: new Date(Date.now() - 1_000),
      },
    });
    const containerId = await leftoverContainer(docker, imageRef, { [LABELS.build]: build.id });
    return { buildId: build.id, containerId };
  }

  const exists = (id: string) => containerExists(docker, id);

  it('takes over a re-delivered build whose worker died (it used to end "not started: the build is running") and removes its container', async () => {
    const { buildId, containerId } = await deadAttempt();
    // BullMQ hands the stalled job to the next worker: the same job id, for a build still `running`.
    await t.app.get(JobQueue).add('build.run', { buildId });
    const build = await finished(buildId);
    expect(build.status).toBe('passed');
    const text = await logs(buildId);
    expect(text).toContain('attempt 2: the worker of the last attempt was lost');
    expect(text).toContain(`removed container ${containerId.slice(0, 12)} of an earlier attempt`);
    expect(await exists(containerId)).toBe(false);
  });

  it('requeues a build left running without a live lease, and sweeps its container (the watchdog)', async () => {
    const { buildId, containerId } = await deadAttempt();
    // No job at all: the queue lost it, or it failed for stalling too often.
    await t.app.get(Reconciler).reconcile();
    expect(await exists(containerId)).toBe(false);
    const build = await finished(buildId);
    expect(build.status).toBe('passed');
  });

  it('ends a build whose worker was lost three times in error, with the reason', async () => {
    const { buildId } = await deadAttempt(3);
    await t.app.get(Reconciler).reconcile();
    const build = await finished(buildId);
    expect(build.status).toBe('error');
    expect(build.reason).toMatch(/the worker running it was lost 3 times \(its lease ran out at /);
  });

  it('holds a test timeout when the engine stops answering mid-test (the job used to hang for good)', async () => {
    const proxy = new FreezableEngine(t.config.docker.host);
    const host = await proxy.start();
    const frozen = new DockerEngine(
      loadConfig({
        ...process.env,
        DATABASE_URL: t.config.databaseUrl,
        QUEUE_PREFIX: t.config.queuePrefix,
        DOCKER_HOST: host,
      }),
    );
    try {
      const started = Date.now();
      const result = await frozen.run({
        image: imageRef,
        command: 'echo started; sleep 120',
        network: false,
        memoryBytes: 64 * 1024 * 1024,
        cpus: 1,
        pids: 64,
        timeoutMs: 2_000,
        labels: { [LABELS.build]: 'frozen-engine', [LABELS.attempt]: 'gone' },
        // The engine stops answering once the test has started (after start's own answer).
        onOutput: (text) => text.includes('started') && setTimeout(() => proxy.freeze(), 500),
      });
      expect(result).toEqual({ exitCode: null, timedOut: true, cancelled: false });
      // 2 s of test, then at most 5 s for the kill, 5 s for the exit and 5 s for the removal.
      expect(Date.now() - started).toBeLessThan(25_000);
    } finally {
      proxy.thaw();
      await proxy.stop();
    }
    // The engine answers again: the container it could not remove is swept by label.
    await t.app.get(Reconciler).reconcile();
    expect(await docker.containers({ [LABELS.build]: 'frozen-engine' })).toEqual([]);
  });
});
