/**
 * bench/build-cache: a cold build, then a one-line change built on a FRESH Docker Engine (empty
 * local cache) that only has the registry: the pushed image's inline cache must serve the expensive
 * early layer. Both builds go through Dockyard's BuildKitCli; target: warm ≤ 30 % of cold.
 */
import 'reflect-metadata';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@dockyard/config';
import { BuildKitCli, DockerEngine } from '@dockyard/docker';
import { RegistryClient } from '@dockyard/registry';

// The builds helper's bridge and subnet (each extra engine on this machine has its own).
const BRIDGE = 'dk5br';
const SUBNET = '172.28.0.1/16';
const POOL = 'base=10.228.0.0/16,size=24';
const LAYER_MB = Number(process.env.BENCH_LAYER_MB ?? 64);
const LAYER_SECONDS = Number(process.env.BENCH_LAYER_SECONDS ?? 30);

/** A Docker Engine of its own with an empty data root; removed by stop(). */
async function freshEngine(name: string): Promise<{ host: string; stop(): Promise<void> }> {
  const dir = path.join('/var/lib/dockyard-bench', name);
  const run = path.join('/run', `dkb-${name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  mkdirSync(run, { recursive: true });
  try {
    execFileSync('ip', ['link', 'show', BRIDGE], { stdio: 'ignore' });
  } catch {
    execFileSync('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    execFileSync('ip', ['addr', 'add', SUBNET, 'dev', BRIDGE]);
  }
  execFileSync('ip', ['link', 'set', BRIDGE, 'up']);
  const socket = path.join(run, 'docker.sock');
  const child: ChildProcess = spawn(
    'dockerd',
    [
      '--host',
      `unix://${socket}`,
      '--data-root',
      path.join(dir, 'root'),
      '--exec-root',
      path.join(run, 'exec'),
      '--pidfile',
      path.join(run, 'docker.pid'),
      '--bridge',
      BRIDGE,
      '--iptables=false',
      '--ip-masq=false',
      '--default-address-pool',
      POOL,
    ],
    { stdio: 'ignore' },
  );
  const host = `unix://${socket}`;
  const engine = new DockerEngine(loadConfig({ ...process.env, DOCKER_HOST: host }));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await engine.ping();
      break;
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`dockerd ${name} did not start`, { cause: err });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    host,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
      rmSync(run, { recursive: true, force: true });
    },
  };
}

async function build(host: string, contextDir: string, tag: string, cacheFrom: string[]): Promise<number> {
  const config = loadConfig({ ...process.env, DOCKER_HOST: host });
  const builder = new BuildKitCli(config);
  const t0 = Date.now();
  let output = '';
  try {
    await builder.build({
      contextDir,
      dockerfile: 'Dockerfile',
      tags: [tag],
      buildArgs: {},
      labels: {},
      secrets: {},
      cacheFrom,
      network: false,
      timeoutMs: 10 * 60_000,
      onOutput: (text) => (output += text),
    });
  } catch (err) {
    console.error(output.split('\n').slice(-20).join('\n'));
    throw err;
  } finally {
    builder.onModuleDestroy();
  }
  const seconds = (Date.now() - t0) / 1000;
  const cached = (output.match(/CACHED/g) ?? []).length;
  if (process.env.BENCH_VERBOSE) console.log(output);
  console.log(`  ${tag.split('/').pop()!.padEnd(10)} ${seconds.toFixed(1).padStart(6)} s   ${cached} step(s) CACHED`);
  return seconds;
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const registry = new RegistryClient(config);
  const repo = registry.engineRef(`bench-${randomBytes(3).toString('hex')}/app`);
  const context = mkdtempSync(path.join(tmpdir(), 'dockyard-bench-context-'));
  copyFileSync('/bin/busybox', path.join(context, 'busybox'));
  // The expensive early layer, as a dependency install would be: LAYER_MB of incompressible bytes
  // and LAYER_SECONDS of work. The warm build still pulls the layer, so its cost grows with LAYER_MB.
  writeFileSync(
    path.join(context, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      `RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && echo ${randomBytes(4).toString('hex')} && dd if=/dev/urandom of=/deps bs=1M count=${LAYER_MB} 2>/dev/null && sleep ${LAYER_SECONDS}"]`,
      'COPY app.txt /app/app.txt',
    ].join('\n'),
  );
  writeFileSync(path.join(context, 'app.txt'), 'version 1\n');
  console.log(
    `build-cache: a cold build, then a one-line change on a fresh engine with the registry cache ` +
      `(early layer: ${LAYER_MB} MB, ${LAYER_SECONDS} s of work)`,
  );

  const first = await freshEngine('cold');
  let cold: number;
  try {
    cold = await build(first.host, context, `${repo}:cold`, []);
    const engine = new DockerEngine(loadConfig({ ...process.env, DOCKER_HOST: first.host }));
    await engine.push(`${repo}:cold`, registry.engineAuth(), () => undefined);
  } finally {
    await first.stop();
  }

  writeFileSync(path.join(context, 'app.txt'), 'version 2\n');
  const second = await freshEngine('warm');
  let warm: number;
  try {
    warm = await build(second.host, context, `${repo}:warm`, [`${repo}:cold`]);
  } finally {
    await second.stop();
    rmSync(context, { recursive: true, force: true });
  }
  const ratio = warm / cold;
  console.log(
    `  warm/cold = ${(ratio * 100).toFixed(0)} % (target ≤ 30 %: ${ratio <= 0.3 ? 'met' : 'NOT met'}); ` +
      'the warm build ran on an engine that had never seen the image',
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
