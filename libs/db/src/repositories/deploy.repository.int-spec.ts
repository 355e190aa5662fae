import { loadConfig } from '@dockyard/config';
import { createTestDatabase } from '../../../../test/support/database';
import { PrismaService } from '../prisma.service';
import { DeployRepository } from './deploy.repository';
import { EnvironmentRepository, TargetExistsError } from './environment.repository';

jest.setTimeout(30_000);

describe('EnvironmentRepository and DeployRepository', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let prisma: PrismaService;
  let environments: EnvironmentRepository;
  let deploys: DeployRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    prisma = new PrismaService(loadConfig({ ...process.env, DATABASE_URL: db.url }));
    environments = new EnvironmentRepository(prisma);
    deploys = new DeployRepository(prisma);
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  async function environment() {
    const project = await prisma.project.create({
      data: { owner: 'acme', name: `web${Math.random().toString(36).slice(2, 8)}`, cloneUrl: 'file:///x' },
    });
    const stage = await prisma.stage.create({ data: { projectId: project.id, name: 'test', position: 1 } });
    return environments.upsert(project.id, stage.id, { url: 'http://127.0.0.1:8101', soakMs: 2000 });
  }

  it('keeps an environment per stage with its hosts in order; a host name is unique in it', async () => {
    const env = await environment();
    await environments.addTarget(env.id, {
      name: 'b',
      position: 1,
      kind: 'socket',
      address: 'unix:///s',
      proxyPort: 1,
    });
    await environments.addTarget(env.id, {
      name: 'a',
      position: 0,
      kind: 'socket',
      address: 'unix:///s',
      proxyPort: 2,
    });
    await expect(
      environments.addTarget(env.id, { name: 'a', kind: 'socket', address: 'unix:///s', proxyPort: 3 }),
    ).rejects.toBeInstanceOf(TargetExistsError);
    const again = await environments.upsert(env.projectId, env.stageId, { replicas: 2 });
    expect(again.id).toBe(env.id);
    expect(again).toMatchObject({ url: 'http://127.0.0.1:8101', replicas: 2, soakMs: 2000 });
    expect(again.targets.map((t) => t.name)).toEqual(['a', 'b']);
  });

  it('runs deploys to one environment one at a time, in the order they asked', async () => {
    const env = await environment();
    const order: string[] = [];
    let started!: () => void;
    let release!: () => void;
    const firstStarted = new Promise<void>((r) => (started = r));
    const released = new Promise<void>((r) => (release = r));
    const first = deploys.withEnvironmentLock(env.id, async () => {
      order.push('first:start');
      started();
      await released;
      order.push('first:end');
    });
    await firstStarted;
    const second = deploys.withEnvironmentLock(env.id, async () => void order.push('second'));
    // The second waits as long as the first holds the environment, however long that is.
    await new Promise((r) => setTimeout(r, 300));
    expect(order).toEqual(['first:start']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first:start', 'first:end', 'second']);
  });

  it('records steps in order and ends a deploy once', async () => {
    const env = await environment();
    const deploy = await deploys.create({ environmentId: env.id, repository: 'acme/web', digest: 'sha256:1' });
    const pull = await deploys.addStep({ deployId: deploy.id, name: 'pull', status: 'running' });
    await deploys.updateStep(pull.id, { status: 'passed' });
    await deploys.addStep({ deployId: deploy.id, name: 'start' });
    expect(await deploys.finish(deploy.id, 'failed', { reason: 'unhealthy', rolledBack: true })).toBe(true);
    expect(await deploys.finish(deploy.id, 'succeeded', {})).toBe(false);
    const found = await deploys.find(deploy.id);
    expect(found).toMatchObject({ status: 'failed', reason: 'unhealthy', rolledBack: true });
    expect(found!.steps.map((s) => [s.position, s.name, s.status])).toEqual([
      [0, 'pull', 'passed'],
      [1, 'start', 'pending'],
    ]);
  });
});
