// bench/burst: R repositories × B branches pushed at once. Dockyard (one api process, worker
// processes of WORKER_CONCURRENCY) against a plain script doing the same docker build / push / run /
// tag at the same concurrency, in the same run; then the same burst with two worker processes on
// two Docker Engines (BURST_SECOND_DOCKER_HOST, which scripts/bench.sh starts). Time is until every
// push is tested and its digest is in dev.
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { benchDatabase } from './support';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const R = Number(process.env.BURST_REPOS ?? 3);
const B = Number(process.env.BURST_BRANCHES ?? 4);
const N = Number(process.env.BURST_CONCURRENCY ?? 2);
const SECOND = process.env.BURST_SECOND_DOCKER_HOST;
const SECRET = 'bench-burst-secret';
const DOCKER = '/usr/bin/docker';
const registryHost = new URL(process.env.REGISTRY_URL!).host;

interface Push {
  owner: string;
  repo: string;
  branch: string;
  sha: string;
}

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
}

/** R repositories, each with B branches of distinct content (no layer cache is shared between runs). */
function makeRepos(run: string): { dir: string; owner: string; pushes: Push[] }[] {
  return Array.from({ length: R }, (_, r) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dockyard-burst-'));
    const owner = `burst${run}r${r}`;
    git(dir, 'init', '--quiet', '--initial-branch=main');
    git(dir, 'config', 'user.email', 'bench@example.com');
    git(dir, 'config', 'user.name', 'bench');
    copyFileSync('/bin/busybox', path.join(dir, 'busybox'));
    const pushes: Push[] = [];
    for (let b = 0; b < B; b++) {
      const branch = `b${b}`;
      git(dir, 'checkout', '--quiet', '-B', branch);
      writeFileSync(
        path.join(dir, 'Dockerfile'),
        'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCOPY app /app\n',
      );
      execFileSync('mkdir', ['-p', path.join(dir, 'app')]);
      writeFileSync(path.join(dir, 'app/test.sh'), `echo ${run}-${r}-${b}; test -x /bin/sh\n`);
      writeFileSync(
        path.join(dir, '.dockyard.yml'),
        `image: ${owner}/web\ntest:\n  - { name: unit, run: sh /app/test.sh }\nstages:\n  - { name: dev, auto: true }\n`,
      );
      git(dir, 'add', '-A');
      git(dir, 'commit', '--quiet', '-m', `burst ${b}`);
      pushes.push({ owner, repo: 'web', branch, sha: git(dir, 'rev-parse', 'HEAD').trim() });
    }
    return { dir, owner, pushes };
  });
}

async function pool<T>(items: T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < items.length; i = next++) await task(items[i]);
    }),
  );
}

/** The plain script: git archive | docker build, push, run the test, tag dev — N at a time. */
async function plainScript(repos: ReturnType<typeof makeRepos>): Promise<number> {
  const started = Date.now();
  const jobs = repos.flatMap((r) => r.pushes.map((p) => ({ ...p, dir: r.dir })));
  await pool(jobs, N, async (p) => {
    const ref = `${registryHost}/${p.owner}/plain`;
    const tag = `${ref}:sha-${p.sha.slice(0, 12)}`;
    // As Dockyard does: the tree unpacked into a folder of its own, built by BuildKit through the CLI.
    const context = mkdtempSync(path.join(tmpdir(), 'dockyard-burst-context-'));
    try {
      await run('sh', ['-c', `git -C ${p.dir} archive ${p.sha} | tar -x -C ${context}`]);
      await run(DOCKER, ['build', '-q', '-t', tag, context], { env: { ...process.env, DOCKER_BUILDKIT: '1' } });
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
    const pushed = (await run(DOCKER, ['push', tag])).stdout;
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
    if (!digest) throw new Error(`plain push of ${tag} printed no digest`);
    await run(DOCKER, ['run', '--rm', '--network', 'none', `${ref}@${digest}`, 'sh', '/app/test.sh']);
    await run(DOCKER, ['tag', tag, `${ref}:dev`]);
    await run(DOCKER, ['push', `${ref}:dev`]);
  });
  return Date.now() - started;
}

function start(entry: string, env: Record<string, string>, logName: string): ChildProcess {
  const log = openSync(path.join(tmpdir(), `dockyard-burst-${logName}.log`), 'w');
  return spawn(process.execPath, [path.join(ROOT, entry)], {
    cwd: ROOT,
    env: { ...(process.env as Record<string, string>), ...env },
    stdio: ['ignore', log, log],
  });
}

async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Dockyard: deliver every push at once, time until every build passed (and so is in dev). */
async function dockyard(repos: ReturnType<typeof makeRepos>, engines: string[]): Promise<number> {
  const db = await benchDatabase(ROOT);
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  const env = {
    DATABASE_URL: db.url,
    QUEUE_PREFIX: `burst${randomBytes(3).toString('hex')}`,
    GITHUB_WEBHOOK_SECRET: SECRET,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    WORKER_CONCURRENCY: String(N),
    // The repositories are on this host's disk (file:// clone URLs).
    GIT_ALLOW_FILE_URLS: 'true',
  };
  const url = `http://127.0.0.1:${port}`;
  const procs = [start('dist/apps/api/src/main.js', env, 'api')];
  const caches: string[] = [];
  try {
    await waitFor('the api', 60_000, async () => (await fetch(`${url}/healthz`)).ok);
    for (const [i, host] of engines.entries()) {
      const cache = mkdtempSync(path.join(tmpdir(), 'dockyard-burst-git-'));
      caches.push(cache);
      procs.push(
        start('dist/apps/worker/src/main.js', { ...env, DOCKER_HOST: host, GIT_CACHE_DIR: cache }, `worker${i}`),
      );
    }
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, [path.join(ROOT, 'dist/src/cli.js'), ...args], {
        cwd: ROOT,
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
    cli('create-user', 'bench', '--role', 'admin', '--password', 'a long bench password');
    const token = cli('create-token', 'bench', '--scopes', 'admin').trim().split('\n').pop()!;
    for (const r of repos) {
      const res = await fetch(`${url}/api/v1/projects`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ owner: r.owner, name: 'web', cloneUrl: `file://${r.dir}` }),
      });
      if (res.status !== 201) throw new Error(`register ${r.owner}: ${res.status} ${await res.text()}`);
    }
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    // Workers are up when BullMQ sees them; start the clock only then.
    await new Promise((r) => setTimeout(r, 3_000));
    const started = Date.now();
    await Promise.all(
      repos.flatMap((r) =>
        r.pushes.map(async (p) => {
          const body = JSON.stringify({
            ref: `refs/heads/${p.branch}`,
            after: p.sha,
            repository: {
              name: 'web',
              full_name: `${p.owner}/web`,
              owner: { login: p.owner },
              clone_url: `file://${r.dir}`,
            },
            pusher: { name: 'bench' },
            head_commit: { id: p.sha, message: 'burst' },
          });
          const res = await fetch(`${url}/webhooks/github`, {
            method: 'POST',
            headers: {
              'Content-Type': 'application/json',
              'X-GitHub-Event': 'push',
              'X-GitHub-Delivery': randomUUID(),
              'X-Hub-Signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
            },
            body,
          });
          if (res.status !== 202) throw new Error(`push answered ${res.status}`);
        }),
      ),
    );
    const total = R * B;
    await waitFor('every build', 30 * 60_000, async () => {
      const { rows } = await pg.query(`select status, count(*)::int as n from "Build" group by status`);
      const failed = rows.filter((x) => !['queued', 'running', 'passed'].includes(x.status));
      if (failed.length) throw new Error(`builds ended badly: ${JSON.stringify(failed)}`);
      return rows.find((x) => x.status === 'passed')?.n === total;
    });
    const ms = Date.now() - started;
    const { rows } = await pg.query(`select count(*)::int as n from "Release"`);
    if (rows[0].n !== total) throw new Error(`${rows[0].n} of ${total} digests are in dev`);
    await pg.end();
    return ms;
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    await db.drop();
    for (const c of caches) rmSync(c, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const total = R * B;
  console.log(`bench/burst: ${R} repositories × ${B} branches = ${total} pushes at once, concurrency ${N} per worker`);
  const shared = process.env.DOCKER_HOST!;
  const runs: [string, () => Promise<number>][] = [
    ['plain script (docker CLI)', () => plainScript(makeRepos(`p${randomBytes(2).toString('hex')}`))],
    ['Dockyard, 1 worker process', () => dockyard(makeRepos(`a${randomBytes(2).toString('hex')}`), [shared])],
  ];
  if (SECOND) {
    runs.push([
      'Dockyard, 2 workers on 2 engines',
      () => dockyard(makeRepos(`b${randomBytes(2).toString('hex')}`), [shared, SECOND]),
    ]);
  }
  const results: Record<string, number> = {};
  for (const [name, task] of runs) {
    const ms = await task();
    results[name] = ms;
    const ratio = results['plain script (docker CLI)'] ? ms / results['plain script (docker CLI)'] : 1;
    console.log(
      `${name.padEnd(34)} ${(ms / 1000).toFixed(1).padStart(6)} s   ${((total / ms) * 60_000).toFixed(1).padStart(6)} pushes/min   ${ratio.toFixed(2)}× the plain script`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
