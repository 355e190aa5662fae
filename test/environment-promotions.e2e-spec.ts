import request from 'supertest';
import { DeployWatchdog, TargetEngine } from '@dockyard/environments';
import { TestApp, eventually, startApp } from './support/app';
import { removeEnvironmentsOf, serviceFiles } from './support/environments';
import { freePort } from './support/net';
import { Scenario } from './support/scenario';

jest.setTimeout(300_000);

/** The service a push builds; a broken release listens on the wrong port: its health check never passes. */
const service = (version: string, healthy = true) => serviceFiles(version, healthy ? 8080 : 8081);

/**
 * Stages are places where the image runs: a promotion into a stage with an environment deploys the
 * digest there (pull by digest, start beside the old one, health, switch the proxy, soak) before the
 * stage is written; a deploy that fails leaves the old release serving and the stage as it was; a
 * rollback redeploys the earlier digest. Real Dockyard, real engine, real Caddy, real registry.
 */
describe('promotions deploy into environments (real services)', () => {
  let t: TestApp;
  let s: Scenario;
  let port: number;
  let url: string;

  beforeAll(async () => {
    // The deploy watchdog runs when a case calls it, so that what it does is its own doing.
    t = await startApp({ DRIFT_INTERVAL: '1s', RECONCILE_INTERVAL: '1h' });
    s = new Scenario(t);
    await s.user('admin', 'admin', ['admin']);
    await s.user('alice', 'developer', ['read', 'build', 'promote']);
    await s.register('admin');
    await request(t.url)
      .put(`/api/v1/projects/${s.slug}/policy`)
      .set(s.as('admin'))
      .send({ stages: [{ name: 'dev', auto: true }, { name: 'test' }] })
      .expect(200);
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    await request(t.url)
      .put(`/api/v1/projects/${s.slug}/environments/test`)
      .set(s.as('admin'))
      .send({ url, soak: '1s' })
      .expect(200);
    await request(t.url)
      .post(`/api/v1/projects/${s.slug}/environments/test/hosts`)
      .set(s.as('admin'))
      .send({ name: 'local', kind: 'socket', address: process.env.DOCKER_HOST, proxyPort: port })
      .expect(201);
    // A secret the service gets: in its environment, nowhere else.
    await request(t.url)
      .put(`/api/v1/projects/${s.slug}/environments/test/secrets/API_KEY`)
      .set(s.as('admin'))
      .send({ value: SECRET })
      .expect(200);
  });

  afterAll(async () => {
    // Only what this test made: the containers and networks of this project's environments.
    if (t) await removeEnvironmentsOf(t, s.owner, s.name);
    await t?.close();
    s?.remove();
  });

  const SECRET = `sekret-${Date.now().toString(36)}-value`;
  let v1 = '';
  let v3 = '';

  const serving = async () => (await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text()).trim();

  async function promoteToTest(digest: string) {
    const asked = await s.promote('alice', digest, 'test').expect(202);
    expect(asked.body).toMatchObject({ status: 'promoting', waitingFor: 'deploying to test' });
    return s.settled(asked.body.id, 'alice');
  }

  it('deploys what enters test and serves it at the URL; a failing release keeps the old one serving and the stage as it was; a rollback redeploys', async () => {
    v1 = await s.pushAndBuild(service('v1'), 'alice');
    const first = await promoteToTest(v1);
    expect(first).toMatchObject({ status: 'promoted' });
    expect(await serving()).toBe('v1');
    expect(await s.stages('alice')).toMatchObject({ dev: v1, test: v1 });

    // A release whose health check never passes: the deploy fails, v1 keeps serving.
    const broken = await s.pushAndBuild(service('v2', false), 'alice');
    const failed = await promoteToTest(broken);
    expect(failed.status).toBe('failed');
    expect(failed.reason).toMatch(/^deploy to test failed: .*health/);
    expect(await s.stages('alice')).toMatchObject({ dev: broken, test: v1 });
    expect(await serving()).toBe('v1');
    const audit = await request(t.url).get(`/api/v1/audit?project=${s.slug}`).set(s.as('admin')).expect(200);
    const said = (audit.body as { action: string; detail: { reason?: string } }[]).find(
      (e) => e.action === 'promotion.failed',
    );
    expect(said?.detail.reason).toMatch(/^deploy to test failed/);

    v3 = await s.pushAndBuild(service('v3'), 'alice');
    expect((await promoteToTest(v3)).status).toBe('promoted');
    expect(await serving()).toBe('v3');

    // Rolling test back redeploys v1 through the same deploy and verification.
    const back = await request(t.url)
      .post(`/api/v1/projects/${s.slug}/stages/test/rollback`)
      .set(s.as('alice'))
      .send({})
      .expect(202);
    expect((await s.settled(back.body.id, 'alice')).status).toBe('promoted');
    expect(await s.stages('alice')).toMatchObject({ test: v1 });
    await eventually(async () => (await serving()) === 'v1', 10_000, 'v1 serving again');

    // The environment view says what runs where.
    const envs = await request(t.url).get(`/api/v1/projects/${s.slug}/environments`).set(s.as('alice')).expect(200);
    const test = (envs.body as { stage: string }[]).find((e) => e.stage === 'test');
    expect(JSON.stringify(test)).toContain(v1);

    // The secret reached the container's environment, and nothing else: labels, deploy logs, answers, audit.
    const local = new TargetEngine('local', { kind: 'socket', address: process.env.DOCKER_HOST! });
    const envRow = await t.prisma.environment.findFirstOrThrow({
      where: { project: { owner: s.owner, name: s.name }, stage: { name: 'test' } },
    });
    const [svc] = await local.owned({ 'dev.dockyard.environment': envRow.id, 'dev.dockyard.role': 'service' });
    const inspected = await local.inspect(svc.id);
    expect(inspected.Config.Env).toContain(`API_KEY=${SECRET}`);
    expect(JSON.stringify(inspected.Config.Labels)).not.toContain(SECRET);
    const deployIds = (await t.prisma.deploy.findMany({ where: { environmentId: envRow.id } })).map((d) => d.id);
    const shown: string[] = [JSON.stringify(envs.body)];
    for (const id of deployIds) {
      shown.push((await request(t.url).get(`/api/v1/deploys/${id}`).set(s.as('alice')).expect(200)).text);
      shown.push((await request(t.url).get(`/api/v1/deploys/${id}/logs`).set(s.as('alice')).expect(200)).text);
    }
    shown.push(JSON.stringify((await request(t.url).get(`/api/v1/audit?project=${s.slug}`).set(s.as('admin'))).body));
    expect(shown.join('\n')).not.toContain(SECRET);

    // Each deploy told the event stream (and, through the same watcher, GitHub Deployments).
    const events = await request(t.url).get(`/api/v1/events?project=${s.slug}`).set(s.as('alice')).expect(200);
    const deploys = (events.body as { type: string; digest: string }[])
      .filter((e) => e.type.startsWith('deploy.'))
      .map((e) => `${e.type} ${e.digest}`);
    expect(deploys).toEqual(
      expect.arrayContaining([
        `deploy.started ${v1}`,
        `deploy.verified ${v1}`,
        `deploy.failed ${broken}`,
        `deploy.verified ${v3}`,
      ]),
    );
  });

  /** The test environment's one host as the API shows it. */
  async function host() {
    const envs = await request(t.url).get(`/api/v1/projects/${s.slug}/environments`).set(s.as('alice')).expect(200);
    const test = (envs.body as { stage: string; environment: { hosts: Record<string, unknown>[] } }[]).find(
      (e) => e.stage === 'test',
    );
    return test!.environment.hosts[0] as { state: string; runningDigest: string | null; detail: string | null };
  }

  const reconverge = () =>
    request(t.url).post(`/api/v1/projects/${s.slug}/environments/test/reconverge`).set(s.as('admin'));

  it('sees a host changed by hand as down or drifted, and an admin re-converges it to the Release', async () => {
    expect(v1).not.toBe('');
    await eventually(async () => (await host()).state === 'in_sync', 30_000, 'test in sync');
    const local = new TargetEngine('local', { kind: 'socket', address: process.env.DOCKER_HOST! });
    const env = await t.prisma.environment.findFirstOrThrow({
      where: { project: { owner: s.owner, name: s.name }, stage: { name: 'test' } },
    });
    const services = () => local.owned({ 'dev.dockyard.environment': env.id, 'dev.dockyard.role': 'service' });

    // Someone stops the service by hand: the host is down.
    const [running] = await services();
    await local.docker.getContainer(running.id).stop({ t: 1 });
    const down = await eventually(
      async () => {
        const h = await host();
        return h.state === 'down' && h;
      },
      30_000,
      'host down',
    );
    expect(down.detail).toMatch(/no container is running/);
    // Only an admin may re-converge; a stage's recorded digest goes back on the host.
    await request(t.url).post(`/api/v1/projects/${s.slug}/environments/test/reconverge`).set(s.as('alice')).expect(403);
    expect((await reconverge().expect(202)).body).toEqual({ queued: true, digest: v1 });
    await eventually(async () => (await host()).state === 'in_sync', 60_000, 'in sync again');
    expect(await serving()).toBe('v1');

    // Someone replaces the container by hand with another release, labels and all: drifted.
    const [current] = await services();
    const info = await local.inspect(current.id);
    await local.remove(current.id);
    const other = await local.create({
      name: `${info.Name.replace(/^\//, '')}-by-hand`,
      Image: info.Config.Image.replace(v1, v3),
      Labels: info.Config.Labels,
      Env: info.Config.Env,
      Cmd: info.Config.Cmd,
      HostConfig: { NetworkMode: info.HostConfig.NetworkMode },
    });
    await local.start(other);
    const drifted = await eventually(
      async () => {
        const h = await host();
        return h.state === 'drifted' && h;
      },
      30_000,
      'host drifted',
    );
    expect(drifted).toMatchObject({ runningDigest: v3 });
    expect(drifted.detail).toContain(`runs ${v3.slice(7, 19)}, the Release is ${v1.slice(7, 19)}`);
    const events = await request(t.url).get(`/api/v1/events?project=${s.slug}`).set(s.as('alice')).expect(200);
    expect(events.body).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'environment.drifted',
          digest: v1,
          data: expect.objectContaining({ running: v3 }),
        }),
      ]),
    );

    expect((await reconverge().expect(202)).body).toEqual({ queued: true, digest: v1 });
    await eventually(async () => (await host()).state === 'in_sync', 60_000, 'in sync after drift');
    expect(await serving()).toBe('v1');
  });

  /** What a worker SIGKILLed in the middle of deploying `digest` into test leaves: rows it never finished. */
  async function deadDeploy(digest: string, reason: string | null) {
    const project = await t.prisma.project.findFirstOrThrow({ where: { owner: s.owner, name: s.name } });
    const image = await t.prisma.image.findFirstOrThrow({ where: { projectId: project.id, digest } });
    const stage = await t.prisma.stage.findFirstOrThrow({ where: { projectId: project.id, name: 'test' } });
    const env = await t.prisma.environment.findFirstOrThrow({ where: { stageId: stage.id } });
    const promotion = await t.prisma.promotion.create({
      data: {
        projectId: project.id,
        imageId: image.id,
        digest,
        fromStage: 'dev',
        toStageId: stage.id,
        status: 'promoting',
        reason: 'deploying to test',
        channel: 'api',
      },
    });
    const deploy = await t.prisma.deploy.create({
      data: {
        environmentId: env.id,
        promotionId: promotion.id,
        repository: image.repository,
        digest,
        status: 'running',
        reason,
        byLogin: 'alice',
        createdAt: new Date(Date.now() - 120_000),
        startedAt: new Date(Date.now() - 110_000),
      },
    });
    return { promotionId: promotion.id, deployId: deploy.id };
  }

  it('resumes a deploy whose worker died, once; lost again, it fails and so does its promotion', async () => {
    const watchdog = t.app.get(DeployWatchdog);
    const first = await deadDeploy(v3, null);
    expect(await watchdog.sweep(0)).toBe(1);
    expect((await s.settled(first.promotionId, 'alice')).status).toBe('promoted');
    expect(await t.prisma.deploy.findUniqueOrThrow({ where: { id: first.deployId } })).toMatchObject({
      status: 'succeeded',
    });
    expect(await serving()).toBe('v3');
    expect(await s.stages('alice')).toMatchObject({ test: v3 });

    const again = await deadDeploy(v1, 'resumed: the worker running it was lost');
    expect(await watchdog.sweep(0)).toBe(1);
    const failed = await s.settled(again.promotionId, 'alice');
    expect(failed).toMatchObject({
      status: 'failed',
      reason: 'deploy to test failed: the worker running it was lost twice',
    });
    expect(await s.stages('alice')).toMatchObject({ test: v3 });
    // Nothing is left active: a second sweep has nothing to do.
    expect(await watchdog.sweep(0)).toBe(0);
  });
});
