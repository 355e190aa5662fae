/**
 * bench/pipeline: R repositories × B pushes end to end (signed push webhook → image built with
 * BuildKit, pushed, tested in a container → digest in dev) through Dockyard, beside a plain script
 * doing the same docker build, push, test run and dev tag at the same concurrency, in the same run.
 * Rounds alternate which goes first; the median ratio is the result. Target: Dockyard ≤ 1.10× the script.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadConfig } from '@dockyard/config';
import { PrismaService } from '@dockyard/db';
import { RegistryClient } from '@dockyard/registry';
import { configureHttpApp } from '../apps/api/src/http-app';
import { AppModule } from '../src/app.module';
import { benchDatabase, measure } from './support';

const run = promisify(execFile);
const R = Number(process.env.BENCH_REPOS ?? 3);
const B = Number(process.env.BENCH_PUSHES ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECRET = randomBytes(16).toString('hex');
const root = path.resolve(__dirname, '../..');

const git = (cwd: string, ...args: string[]) => run('git', args, { cwd }).then((r) => r.stdout.trim());

/** A repository like the tests': FROM scratch with busybox, one file that changes per push, one test. */
async function makeRepo(nonce: string, image: string): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockyard-bench-repo-'));
  await git(dir, 'init', '--quiet', '--initial-branch=main');
  await git(dir, 'config', 'user.email', 'bench@example.com');
  await git(dir, 'config', 'user.name', 'bench');
  copyFileSync('/bin/busybox', path.join(dir, 'busybox'));
  writeFileSync(
    path.join(dir, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      `RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && echo ${nonce}"]`,
      'COPY app /app',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, '.dockyard.yml'), `image: ${image}\ntest:\n  - name: unit\n    run: test -s /app/v\n`);
  return dir;
}

/** Commit a change on its own branch (so that no push supersedes another); returns its sha. */
async function commit(dir: string, branch: string): Promise<string> {
  await git(dir, 'checkout', '--quiet', '-B', branch, 'main').catch(() =>
    git(dir, 'checkout', '--quiet', '-B', branch),
  );
  await run('mkdir', ['-p', path.join(dir, 'app')]);
  writeFileSync(path.join(dir, 'app/v'), `${branch} ${randomUUID()}\n`);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '--quiet', '-m', branch);
  return git(dir, 'rev-parse', 'HEAD');
}

interface Push {
  repo: string;
  owner: string;
  name: string;
  branch: string;
  sha: string;
}

async function preparePushes(label: string): Promise<Push[]> {
  const nonce = randomBytes(4).toString('hex');
  const pushes: Push[] = [];
  for (let r = 0; r < R; r++) {
    const owner = `bench${label}${nonce}`;
    const name = `app${r}`;
    const repo = await makeRepo(nonce, `${owner}/${name}`);
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '--quiet', '-m', 'base');
    for (let b = 0; b < B; b++) {
      const branch = `b${b}`;
      pushes.push({ repo, owner, name, branch, sha: await commit(repo, branch) });
    }
  }
  return pushes;
}

/** The plain script: archive, docker build (BuildKit), push, test container, dev tag by manifest copy. */
async function script(p: Push, registry: RegistryClient): Promise<void> {
  const ctx = mkdtempSync(path.join(tmpdir(), 'dockyard-bench-ctx-'));
  try {
    await run('sh', ['-c', `git -C "${p.repo}" archive ${p.sha} | tar -x -C "${ctx}"`]);
    const repository = `${p.owner}/${p.name}`;
    const tag = `${registry.engineRef(repository)}:sha-${p.sha.slice(0, 12)}`;
    const env = { ...process.env, DOCKER_BUILDKIT: '1' };
    await run('/usr/bin/docker', ['build', '--progress=plain', '-t', tag, ctx], { env, maxBuffer: 64 << 20 });
    await run('/usr/bin/docker', ['push', tag], { env });
    await run('/usr/bin/docker', ['run', '--rm', '--network', 'none', tag, 'sh', '-c', 'test -s /app/v'], { env });
    const manifest = (await registry.getManifest(repository, `sha-${p.sha.slice(0, 12)}`))!;
    await registry.putManifest(repository, 'dev', manifest);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const db = await benchDatabase(root);
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    PORT: '0',
    DATABASE_URL: db.url,
    QUEUE_PREFIX: `bench${randomBytes(3).toString('hex')}`,
    GIT_CACHE_DIR: mkdtempSync(path.join(tmpdir(), 'dockyard-bench-git-')),
    GITHUB_WEBHOOK_SECRET: SECRET,
    GITHUB_TOKEN: '',
    WORKER_CONCURRENCY: String(CONCURRENCY),
    MISSED_PUSH_INTERVAL: '0',
    // The bench's repositories are local directories.
    GIT_ALLOW_FILE_URLS: 'true',
  });
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: ['error'],
  });
  configureHttpApp(app);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const prisma = app.get(PrismaService);
  const registry = app.get(RegistryClient);
  console.log(
    `pipeline: ${R} repositories × ${B} pushes, ${CONCURRENCY} at a time, push → tested → in dev, ${ROUNDS} rounds (load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})`,
  );

  /** The plain script over fresh repositories; seconds for all pushes. */
  const scriptRound = async (round: number): Promise<number> => {
    const plain = await preparePushes(`s${round}`);
    return (await measure(plain.length, CONCURRENCY, (i) => script(plain[i], registry))).seconds;
  };

  /** Dockyard over fresh repositories (and projects): signed webhooks until every push is tested and in dev. */
  const dockyardRound = async (round: number): Promise<number> => {
    const pushes = await preparePushes(`d${round}`);
    for (const p of pushes) {
      await prisma.project.upsert({
        where: { owner_name: { owner: p.owner, name: p.name } },
        create: { owner: p.owner, name: p.name, cloneUrl: p.repo },
        update: {},
      });
    }
    const t0 = process.hrtime.bigint();
    const ids: string[] = [];
    for (const p of pushes) {
      const body = JSON.stringify({
        ref: `refs/heads/${p.branch}`,
        after: p.sha,
        repository: { name: p.name, full_name: `${p.owner}/${p.name}`, owner: { login: p.owner } },
        pusher: { name: 'bench' },
        head_commit: { id: p.sha, message: p.branch },
      });
      const res = await fetch(`${url}/webhooks/github`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
        },
        body,
      });
      ids.push(((await res.json()) as { buildId: string }).buildId);
    }
    for (;;) {
      const builds = await prisma.build.findMany({
        where: { id: { in: ids } },
        select: { status: true, reason: true },
      });
      const open = builds.filter((b) => b.status === 'queued' || b.status === 'running');
      const bad = builds.find((b) => b.status !== 'passed' && !open.includes(b));
      if (bad) throw new Error(`a build ended ${bad.status}: ${bad.reason}`);
      if (!open.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const releases = await prisma.release.count({ where: { buildId: { in: ids } } });
    if (releases !== ids.length) throw new Error(`${releases} of ${ids.length} builds reached dev`);
    return seconds;
  };

  try {
    const n = R * B;
    const ratios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Which goes first alternates, so that neither always meets the machine as the other left it.
      let baseline: number;
      let dockyard: number;
      if (round % 2) {
        baseline = await scriptRound(round);
        dockyard = await dockyardRound(round);
      } else {
        dockyard = await dockyardRound(round);
        baseline = await scriptRound(round);
      }
      ratios.push(dockyard / baseline);
      console.log(
        `  round ${round}: plain script ${baseline.toFixed(1).padStart(5)} s (${(n / baseline).toFixed(2)} pushes/s), ` +
          `Dockyard ${dockyard.toFixed(1).padStart(5)} s (${(n / dockyard).toFixed(2)} pushes/s): ${(dockyard / baseline).toFixed(2)}×`,
      );
    }
    const ratio = [...ratios].sort((x, y) => x - y)[Math.floor(ratios.length / 2)];
    console.log(
      `  Dockyard / script, median of ${ROUNDS} rounds = ${ratio.toFixed(2)}× (target ≤ 1.10×: ${ratio <= 1.1 ? 'met' : 'NOT met'}); ` +
        `load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
    );
  } finally {
    await app.close();
    await db.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
