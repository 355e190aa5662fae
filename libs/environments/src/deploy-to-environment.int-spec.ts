import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AppConfig, loadConfig } from '@dockyard/config';
import {
  AuditRepository,
  DeployRepository,
  EnvironmentRepository,
  EnvironmentVariableRepository,
  PrismaService,
  ProjectRepository,
  SecretRepository,
} from '@dockyard/db';
import { EnvironmentValueStore, SecretCipher, SecretsStore, TargetKeyVault } from '@dockyard/secrets';
import { createTestDatabase } from '../../../test/support/database';
import { DockerHost, startDockerHost } from '../../../test/support/docker-host';
import { freePort } from '../../../test/support/net';
import { pushServiceImage, steadyLoad } from '../../../test/support/service-image';
import { DeployToEnvironment } from './deploy-to-environment';
import { TargetConnector } from './target-connector';
import { TargetEngine } from './target-engine';

jest.setTimeout(240_000);

// Two hosts: the shared engine over its socket, and an engine of this test's own over TLS (or SSH).

describe('DeployToEnvironment on two real Docker Engines', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let prisma: PrismaService;
  let config: AppConfig;
  let host2: DockerHost;
  let deployer: DeployToEnvironment;
  let environments: EnvironmentRepository;
  let deploys: DeployRepository;
  let keys: TargetKeyVault;
  const ns = `dk${randomBytes(4).toString('hex')}`;
  const registryHost = new URL(process.env.REGISTRY_URL!).host;
  const images: Record<string, { repository: string; digest: string }> = {};
  const created: string[] = [];
  const pool = '10.231.0.0/16';
  // The main engine's FORWARD policy drops bridged traffic it did not open; this engine runs without
  // iptables (it must not fight the main one over the chains), so its own networks are let through.
  const forward = ['FORWARD', '-s', pool, '-d', pool, '-j', 'ACCEPT'];

  beforeAll(async () => {
    [db, host2] = await Promise.all([
      createTestDatabase(),
      startDockerHost({
        name: 'envdeploy',
        bridge: 'dk2br',
        subnet: '172.31.0.1/16',
        pool,
        tls: true,
        ssh: true,
      }),
    ]);
    config = loadConfig({ ...process.env, DATABASE_URL: db.url, SECRETS_KEY: randomBytes(32).toString('base64') });
    const cipher = new SecretCipher(config.secrets.key);
    keys = new TargetKeyVault(cipher);
    prisma = new PrismaService(config);
    environments = new EnvironmentRepository(prisma);
    deploys = new DeployRepository(prisma);
    const connector = new TargetConnector(keys);
    deployer = new DeployToEnvironment(
      config,
      environments,
      deploys,
      new AuditRepository(prisma),
      connector,
      new EnvironmentValueStore(
        environments,
        new EnvironmentVariableRepository(prisma),
        new SecretsStore(
          cipher,
          new SecretRepository(prisma, new AuditRepository(prisma)),
          new ProjectRepository(prisma),
        ),
        cipher,
      ),
    );
    for (const [name, body, healthy] of [
      ['v1', 'version-1', true],
      ['v2', 'version-2', true],
      ['broken', 'broken', false],
    ] as const) {
      images[name] = await pushServiceImage({ registryHost, repository: `${ns}/web`, body, healthy });
    }
  }, 240_000);

  beforeEach(() => {
    // Another engine starting up may rewrite the chain: make sure the rule is there.
    try {
      execFileSync('iptables', ['-C', ...forward], { stdio: 'ignore' });
    } catch {
      execFileSync('iptables', ['-I', ...forward]);
    }
  });

  afterAll(async () => {
    // Only what this test made: containers and networks of its own environments.
    const local = new TargetEngine('local', { kind: 'socket', address: process.env.DOCKER_HOST! });
    for (const envId of created) {
      for (const c of await local.owned({ 'dev.dockyard.environment': envId })) await local.remove(c.id);
      const nets = await local.docker.listNetworks({ filters: { label: [`dev.dockyard.environment=${envId}`] } });
      for (const n of nets)
        await local.docker
          .getNetwork(n.Id)
          .remove()
          .catch(() => undefined);
    }
    try {
      execFileSync('iptables', ['-D', ...forward], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    await host2?.destroy();
    await prisma?.$disconnect();
    await db?.drop();
  }, 120_000);

  /** An environment with the local engine as host "a" and the second engine as host "b" (over TLS, or SSH). */
  async function environment(settings: { soakMs?: number; b?: 'tls' | 'ssh' } = {}) {
    const project = await prisma.project.create({
      data: { owner: ns, name: `web${randomBytes(3).toString('hex')}`, cloneUrl: 'file:///x' },
    });
    const stage = await prisma.stage.create({ data: { projectId: project.id, name: 'prod', position: 2 } });
    const env = await environments.upsert(project.id, stage.id, { soakMs: settings.soakMs ?? 1500 });
    created.push(env.id);
    const ports = [await freePort(), await freePort()];
    await environments.addTarget(env.id, {
      name: 'a',
      position: 0,
      kind: 'socket',
      address: process.env.DOCKER_HOST!,
      proxyPort: ports[0],
    });
    // Keys are stored as Dockyard stores them: sealed with SECRETS_KEY, opened only to connect.
    await environments.addTarget(
      env.id,
      settings.b === 'ssh'
        ? {
            name: 'b',
            position: 1,
            kind: 'ssh',
            address: host2.ssh!.url,
            keyCipher: keys.seal(env.id, 'b', host2.ssh!.privateKey),
            proxyPort: ports[1],
          }
        : {
            name: 'b',
            position: 1,
            kind: 'tls',
            address: host2.tls!.url,
            tlsCa: host2.tls!.ca,
            tlsCert: host2.tls!.cert,
            keyCipher: keys.seal(env.id, 'b', host2.tls!.key),
            proxyPort: ports[1],
          },
    );
    // With its targets (a and b, in order): the steps name them.
    return { env: (await environments.find(env.id))!, urls: ports.map((p) => `http://127.0.0.1:${p}/`) };
  }

  const service = { port: 8080, health: { http: '/', interval: 300, timeout: 1000, retries: 2 }, drain: 300 };

  function deploy(environmentId: string, image: keyof typeof images, verify: { name: string; run: string }[] = []) {
    return deployer.execute({
      environmentId,
      ...images[image],
      kind: 'deploy',
      by: 'alice',
      service,
      verify,
    });
  }

  async function body(url: string) {
    return (await (await fetch(url)).text()).trim();
  }

  it('deploys to both hosts, one after the other, each serving at its URL behind its proxy', async () => {
    const { env, urls } = await environment();
    const done = await deploy(env.id, 'v1');
    expect(done).toMatchObject({ status: 'succeeded', reason: null, digest: images.v1.digest });
    expect(await body(urls[0])).toBe('version-1');
    expect(await body(urls[1])).toBe('version-1');
    const steps = done.steps.map(
      (s) => `${s.targetId === env.targets[0]?.id ? 'a' : s.targetId ? 'b' : '-'}:${s.name}`,
    );
    // Host b starts only after host a switched and drained.
    expect(steps.lastIndexOf('a:drain')).toBeLessThan(steps.indexOf('b:prepare'));
    expect(steps.at(-1)).toBe('-:soak');
    // Labels say whose containers they are.
    const b = await new TargetEngine('b', {
      kind: 'tls',
      address: host2.tls!.url,
      ca: host2.tls!.ca,
      cert: host2.tls!.cert,
      key: host2.tls!.key,
    }).owned({ 'dev.dockyard.environment': env.id, 'dev.dockyard.role': 'service' });
    expect(b).toHaveLength(1);
    expect(b[0].labels).toMatchObject({ 'dev.dockyard.digest': images.v1.digest, 'dev.dockyard.deploy': done.id });
  });

  it('switches a client sending a request every few ms to the new version with no failed request', async () => {
    const { env, urls } = await environment();
    expect((await deploy(env.id, 'v1')).status).toBe('succeeded');
    const load = steadyLoad(urls[0]);
    const done = await deploy(env.id, 'v2', [
      { name: 'smoke', run: 'wget -q -O - "$SERVICE_URL" | grep -q version-2' },
    ]);
    const seen = await load.stop();
    expect(done.status).toBe('succeeded');
    expect(seen.failures).toEqual([]);
    expect(seen.seen).toEqual(['version-1', 'version-2']);
    expect(seen.ok).toBeGreaterThan(50);
    expect(await body(urls[1])).toBe('version-2');
  });

  it('deploys to a host it reaches over SSH (key auth, the key sealed), switching with no failed request', async () => {
    const { env, urls } = await environment({ b: 'ssh' });
    const target = env.targets[1];
    expect(target).toMatchObject({ kind: 'ssh', address: expect.stringMatching(/^ssh:\/\/root@127\.0\.0\.1:\d+$/) });
    expect(target.keyCipher).not.toContain('PRIVATE KEY');
    expect(await deploy(env.id, 'v1')).toMatchObject({ status: 'succeeded', reason: null });
    expect(await body(urls[1])).toBe('version-1');
    const load = steadyLoad(urls[1]);
    // The verify suite runs on host b too: exec and attach through `docker system dial-stdio` over SSH.
    const done = await deploy(env.id, 'v2', [
      { name: 'smoke', run: 'wget -q -O - "$SERVICE_URL" | grep -q version-2' },
    ]);
    const seen = await load.stop();
    expect(done).toMatchObject({ status: 'succeeded', reason: null });
    expect(seen.failures).toEqual([]);
    expect(seen.seen).toEqual(['version-1', 'version-2']);
    expect(done.steps.filter((s) => s.targetId === target.id && s.name === 'verify:smoke')).toMatchObject([
      { status: 'passed' },
    ]);
    const running = await host2
      .client('ssh')
      .listContainers({ filters: { label: [`dev.dockyard.environment=${env.id}`, 'dev.dockyard.role=service'] } });
    expect(running.map((c) => c.Labels['dev.dockyard.digest'])).toEqual([images.v2.digest]);
  });

  it('keeps the old version serving when the new one never turns healthy, and says why', async () => {
    const { env, urls } = await environment();
    // The first deploy must have worked, or the rest says nothing (its reason shows in the diff).
    expect(await deploy(env.id, 'v1')).toMatchObject({ status: 'succeeded', reason: null });
    const load = steadyLoad(urls[0]);
    const done = await deploy(env.id, 'broken');
    const seen = await load.stop();
    expect(done.status).toBe('failed');
    expect(done.reason).toMatch(/host a .*unhealthy/);
    expect(seen.failures).toEqual([]);
    expect(seen.seen).toEqual(['version-1']);
    expect(await body(urls[1])).toBe('version-1');
    const audit = await prisma.auditEvent.findFirst({ where: { subject: done.id } });
    expect(audit).toMatchObject({ action: 'deploy.failed' });
    expect((audit!.detail as { reason: string }).reason).toMatch(/unhealthy/);
  });

  it('rolls every switched host back when a verify suite fails after the switch, with no failed request', async () => {
    const { env, urls } = await environment();
    // The first deploy must have worked, or the rest says nothing (its reason shows in the diff).
    expect(await deploy(env.id, 'v1')).toMatchObject({ status: 'succeeded', reason: null });
    const loads = urls.map((u) => steadyLoad(u));
    const done = await deploy(env.id, 'v2', [
      { name: 'smoke', run: 'wget -q -O - "$SERVICE_URL" | grep -q version-3' },
    ]);
    const seen = await Promise.all(loads.map((l) => l.stop()));
    expect(done).toMatchObject({ status: 'failed', rolledBack: true });
    expect(done.reason).toMatch(/verify suite smoke failed on a: exit code 1/);
    for (const s of seen) expect(s.failures).toEqual([]);
    expect(seen[0].seen).toEqual(['version-1', 'version-2', 'version-1']);
    expect(await body(urls[0])).toBe('version-1');
    expect(await body(urls[1])).toBe('version-1');
    expect((await prisma.auditEvent.findFirst({ where: { subject: done.id } }))?.action).toBe('deploy.rolled_back');
  });

  it('fails clearly when a host is down, puts the other back, and works again once it returns', async () => {
    const { env, urls } = await environment();
    // The first deploy must have worked, or the rest says nothing (its reason shows in the diff).
    expect(await deploy(env.id, 'v1')).toMatchObject({ status: 'succeeded', reason: null });
    await host2.stop();
    try {
      const done = await deploy(env.id, 'v2');
      expect(done).toMatchObject({ status: 'failed', rolledBack: true });
      expect(done.reason).toMatch(/host b \(tcp:\/\/127\.0\.0\.1:\d+\): cannot reach the Docker Engine/);
      expect(await body(urls[0])).toBe('version-1');
      expect(done.steps.filter((s) => s.status === 'passed' && s.name === 'switch')).toHaveLength(1);
      // Nothing half-done is recorded as done: no step left running, nothing on host b passed.
      expect(done.steps.filter((s) => s.status === 'running')).toEqual([]);
      expect(done.steps.filter((s) => s.targetId === env.targets[1].id).map((s) => `${s.name}:${s.status}`)).toEqual([
        'prepare:failed',
      ]);
      expect((await deploys.lastSucceeded(env.id))?.digest).toBe(images.v1.digest);
    } finally {
      await host2.start();
    }
    const again = await deploy(env.id, 'v2');
    expect(again.status).toBe('succeeded');
    expect(await body(urls[0])).toBe('version-2');
    expect(await body(urls[1])).toBe('version-2');
  });
});
