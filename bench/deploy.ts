// bench/deploy: how long Dockyard takes to deploy a small service to one host (pull by digest,
// start beside the old one, wait healthy, switch the proxy, drain, stop the old), beside a plain
// script doing the same steps straight against the Engine API in the same run; the requests that
// failed during the switches (a client sending a GET every 5 ms through each proxy); and the time
// to an automatic rollback after a failed verify suite, beside the script putting the old one back.
// Target (issue 7): <= 1.2x the script, 0 failed requests.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { CoreModule } from '@dockyard/core';
import { DeployRepository, EnvironmentRepository, PrismaService } from '@dockyard/db';
import {
  DeployToEnvironment,
  EnvironmentsModule,
  TargetEngine,
  dockerHealthcheck,
  localProxyImage,
  serviceShape,
  tarOf,
} from '@dockyard/environments';
import { freePort } from '../test/support/net';
import { pushServiceImage, steadyLoad } from '../test/support/service-image';
import { benchApp, median, timed } from './support';

const root = path.resolve(__dirname, '../..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const ROLLBACKS = Number(process.env.BENCH_ROLLBACKS ?? 3);

// httpd is PID 1 and ignores SIGTERM: each stop waits the grace period out, on both sides.
const SERVICE = {
  port: 8080,
  health: { http: '/', interval: 200, timeout: 1000, retries: 2 },
  drain: 300,
  stopGracePeriod: 1000,
};
const shape = serviceShape(SERVICE);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The plain script: one Caddy on its own network, re-pointed by `caddy reload` (what one writes by
 * hand), and the same Engine API calls a deploy makes, with nothing recorded anywhere.
 */
class PlainScript {
  private readonly network = `bench-script-${randomBytes(3).toString('hex')}`;
  private proxy = '';
  private running: string | null = null;
  private stopped: string | null = null;

  constructor(
    private readonly engine: TargetEngine,
    private readonly auth: { username?: string; password?: string; serveraddress: string },
  ) {}

  async setUp(port: number): Promise<void> {
    await this.engine.ensureNetwork(this.network, {});
    this.proxy = await this.engine.create({
      name: `${this.network}-proxy`,
      Image: localProxyImage(),
      Entrypoint: ['/usr/bin/caddy'],
      Cmd: ['run', '--config', '/etc/caddy/caddy.json'],
      ExposedPorts: { '80/tcp': {} },
      HostConfig: {
        NetworkMode: this.network,
        PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: `${port}` }] },
      },
    });
    await this.engine.putArchive(this.proxy, '/etc/caddy', tarOf({ 'caddy.json': JSON.stringify(this.config(null)) }));
    await this.engine.start(this.proxy);
  }

  private config(upstream: string | null): object {
    const handle = upstream
      ? { handler: 'reverse_proxy', upstreams: [{ dial: upstream }] }
      : { handler: 'static_response', status_code: 503 };
    return {
      admin: { listen: '127.0.0.1:2019' },
      apps: {
        http: {
          servers: { s: { listen: [':80'], automatic_https: { disable: true }, routes: [{ handle: [handle] }] } },
        },
      },
    };
  }

  /** How long each step took, per deploy (the same names as Dockyard's steps). */
  readonly steps = new Map<string, number[]>();

  private async step(name: string, fn: () => Promise<unknown>): Promise<void> {
    const ms = await timed(fn);
    this.steps.set(name, [...(this.steps.get(name) ?? []), ms]);
  }

  /**
   * Pull by digest, run, wait healthy, switch, drain, stop the old; then remove it, as Dockyard does
   * once a deploy is verified, unless `keepOld` (kept stopped for a way back).
   */
  async deploy(image: string, keepOld = false): Promise<void> {
    let id = '';
    await this.step('pull', () => this.engine.pull(image, this.auth, 10 * 60_000));
    await this.step('start', async () => {
      id = await this.engine.create({
        Image: image,
        Healthcheck: dockerHealthcheck(shape),
        StopTimeout: Math.ceil(shape.stopGraceMs / 1000),
        HostConfig: { NetworkMode: this.network },
      });
      await this.engine.start(id);
    });
    await this.step('healthy', () => this.healthy(id));
    await this.step('switch', () => this.switchTo(id));
    const old = this.running;
    this.running = id;
    if (!old) return;
    await this.step('drain', async () => {
      await sleep(shape.drainMs);
      await this.engine.stop(old, shape.stopGraceMs);
    });
    if (keepOld) this.stopped = old;
    else await this.step('remove', () => this.engine.remove(old));
  }

  /** The way back: start the old one, wait healthy, switch to it, remove the new one. */
  async rollBack(): Promise<void> {
    const [bad, old] = [this.running!, this.stopped!];
    await this.engine.start(old);
    await this.healthy(old);
    await this.switchTo(old);
    await this.engine.remove(bad);
    [this.running, this.stopped] = [old, null];
  }

  private async healthy(id: string): Promise<void> {
    while ((await this.engine.inspect(id)).State.Health?.Status !== 'healthy') await sleep(100);
  }

  private async switchTo(id: string): Promise<void> {
    const ip = (await this.engine.inspect(id)).NetworkSettings.Networks[this.network].IPAddress;
    await this.engine.putArchive(
      this.proxy,
      '/etc/caddy',
      tarOf({ 'next.json': JSON.stringify(this.config(`${ip}:${shape.port}`)) }),
    );
    const res = await this.engine.exec(this.proxy, [
      '/usr/bin/caddy',
      'reload',
      '--config',
      '/etc/caddy/next.json',
      '--address',
      '127.0.0.1:2019',
      '--force',
    ]);
    if (res.exitCode !== 0) throw new Error(`reload: ${res.output}`);
  }

  async tearDown(): Promise<void> {
    for (const id of [this.proxy, this.running, this.stopped]) if (id) await this.engine.remove(id);
    await this.engine.docker.getNetwork(this.network).remove();
  }
}

async function main(): Promise<void> {
  const { app, config, drop } = await benchApp(root, (config) => [CoreModule.forRoot(config), EnvironmentsModule]);
  const prisma = app.get(PrismaService);
  const environments = app.get(EnvironmentRepository);
  const deploys = app.get(DeployRepository);
  const deployer = app.get(DeployToEnvironment);
  const engine = new TargetEngine('local', { kind: 'socket', address: config.docker.host });
  const registryHost = config.registry.engineHost;
  const auth = { username: config.registry.username, password: config.registry.password, serveraddress: registryHost };
  const ns = `bench-${randomBytes(3).toString('hex')}`;

  console.log(`deploy: ${ROUNDS} deploys each way on the local engine, ${ROLLBACKS} rollbacks; load: ${loadAverage()}`);
  // Four images of the same size: two for Dockyard, two for the script, so each pull is a real one.
  const push = (body: string) =>
    pushServiceImage({ registryHost: new URL(config.registry.url).host, repository: `${ns}/web`, body });
  const mine = [await push('dockyard-1'), await push('dockyard-2')];
  const theirs = [await push('script-1'), await push('script-2')];
  const ref = (i: { repository: string; digest: string }) => `${registryHost}/${i.repository}@${i.digest}`;
  const unpull = (image: string) =>
    engine.docker
      .getImage(image)
      .remove()
      .catch(() => undefined);

  const project = await prisma.project.create({ data: { owner: ns, name: 'web', cloneUrl: 'file:///x' } });
  const stage = await prisma.stage.create({ data: { projectId: project.id, name: 'prod', position: 0 } });
  const env = await environments.upsert(project.id, stage.id, { soakMs: 0 });
  const ports = [await freePort(), await freePort()];
  await environments.addTarget(env.id, {
    name: 'local',
    kind: 'socket',
    address: config.docker.host,
    proxyPort: ports[0],
  });
  const deploy = (i: number, verify: { name: string; run: string }[] = []) =>
    deployer.execute({ environmentId: env.id, ...mine[i % 2], kind: 'deploy', by: 'bench', service: SERVICE, verify });
  // Warm-up: the proxy image, the proxies and a first release on both sides (not timed).
  const first = await deploy(0);
  if (first.status !== 'succeeded') throw new Error(`warm-up deploy failed: ${first.reason}`);
  const script = new PlainScript(engine, auth);
  await script.setUp(ports[1]);
  await script.deploy(ref(theirs[0]));

  const times = { dockyard: [] as number[], script: [] as number[] };
  const failed = { dockyard: [] as string[], script: [] as string[] };
  const steps = new Map<string, number[]>();
  let ok = 0;
  // Each under its own steady load; rounds alternate which goes first, so noise falls on both.
  const dockyardRound = async (i: number) => {
    await unpull(ref(mine[i % 2]));
    const load = steadyLoad(`http://127.0.0.1:${ports[0]}/`);
    let outcome: Awaited<ReturnType<typeof deploy>> | undefined;
    times.dockyard.push(await timed(async () => (outcome = await deploy(i))));
    const seen = await load.stop();
    if (outcome!.status !== 'succeeded') throw new Error(`deploy ${i} failed: ${outcome!.reason}`);
    failed.dockyard.push(...seen.failures);
    ok += seen.ok;
    for (const s of outcome!.steps)
      if (s.startedAt && s.finishedAt) steps.set(s.name, [...(steps.get(s.name) ?? []), +s.finishedAt - +s.startedAt]);
  };
  const scriptRound = async (i: number) => {
    await unpull(ref(theirs[i % 2]));
    const load = steadyLoad(`http://127.0.0.1:${ports[1]}/`);
    times.script.push(await timed(() => script.deploy(ref(theirs[i % 2]))));
    const seen = await load.stop();
    failed.script.push(...seen.failures);
    ok += seen.ok;
  };
  script.steps.clear();
  for (let i = 1; i <= ROUNDS; i++) {
    if (i % 2) await dockyardRound(i).then(() => scriptRound(i));
    else await scriptRound(i).then(() => dockyardRound(i));
  }
  const each = (m: Map<string, number[]>) => [...m].map(([name, ms]) => `${name} ${median(ms).toFixed(0)}`).join(', ');
  const stepsSeen = `Dockyard ${each(steps)}; script ${each(script.steps)}`;

  // Rollbacks: a verify suite that fails after the switch; Dockyard puts the previous release back by itself.
  const rollback = { dockyard: [] as number[], script: [] as number[] };
  for (let i = 0; i < ROLLBACKS; i++) {
    const load = steadyLoad(`http://127.0.0.1:${ports[0]}/`);
    const done = await deploy(ROUNDS + 1, [{ name: 'fails', run: 'exit 1' }]);
    const seen = await load.stop();
    failed.dockyard.push(...seen.failures);
    ok += seen.ok;
    const back = done.steps.find((s) => s.name === 'rollback');
    if (done.status !== 'failed' || !done.rolledBack || !back?.startedAt || !back.finishedAt)
      throw new Error(`rollback ${i}: ${done.status} ${done.reason}`);
    rollback.dockyard.push(+back.finishedAt - +back.startedAt);
    await script.deploy(ref(theirs[(ROUNDS + 1) % 2]), true);
    rollback.script.push(await timed(() => script.rollBack()));
  }
  const check = await deploys.lastSucceeded(env.id);

  const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const [d, s] = [median(times.dockyard), median(times.script)];
  const [rd, rs] = [median(rollback.dockyard), median(rollback.script)];
  console.log(
    `deploy to one host, median of ${ROUNDS}:  Dockyard ${fmt(d)}   plain script ${fmt(s)}   ratio ${x(d, s)}`,
  );
  console.log(`  steps (median, ms): ${stepsSeen}`);
  console.log(
    `automatic rollback, median of ${ROLLBACKS}:  Dockyard ${fmt(rd)}   plain script ${fmt(rs)}   ratio ${x(rd, rs)}`,
  );
  console.log(
    `failed requests (a GET every 5 ms, ${ok} answered): through Dockyard's proxy ${failed.dockyard.length}, through the script's ${failed.script.length}${failed.script.length ? ` (${[...new Set(failed.script)].join('; ')})` : ''}`,
  );
  console.log(`load at the end: ${loadAverage()}`);
  const verdict = (good: boolean) => (good ? 'met' : 'NOT met');
  console.log(
    `targets: <= 1.2x the script — ${verdict(d / s <= 1.2)}; 0 failed requests — ${verdict(failed.dockyard.length === 0)}; release still ${check?.digest === mine[ROUNDS % 2].digest ? 'the last good one' : 'WRONG'}`,
  );

  await script.tearDown();
  for (const c of await engine.owned({ 'dev.dockyard.environment': env.id })) await engine.remove(c.id);
  const mark = { filters: { label: [`dev.dockyard.environment=${env.id}`] } };
  for (const n of await engine.docker.listNetworks(mark)) await engine.docker.getNetwork(n.Id).remove();
  for (const image of [...mine, ...theirs]) await unpull(ref(image));
  await drop();
}

function loadAverage(): string {
  return execFileSync('uptime', { encoding: 'utf8' })
    .trim()
    .replace(/.*load average/, 'load average');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
