import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { RegistryClient } from '@dockyard/registry';
import { TestApp, deliver, registerProject, eventually, pushPayload, startApp } from './support/app';
import { FakeGitHub } from './support/fake-github';
import { GitRepo, SCRATCH_DOCKERFILE } from './support/git-repo';

jest.setTimeout(180_000);

describe('push → build → tests → dev (real Postgres, Redis, Docker Engine, registry)', () => {
  const github = new FakeGitHub();
  const repo = new GitRepo();
  const owner = `acme${randomBytes(3).toString('hex')}`;
  const image = `${owner}/web`;
  let t: TestApp;
  let adminToken: string;
  let registry: RegistryClient;

  const pipeline = (tests: string) => `image: ${image}\ntest:\n${tests}\n`;

  beforeAll(async () => {
    const githubUrl = await github.start();
    t = await startApp({
      GITHUB_API_URL: githubUrl,
      GITHUB_TOKEN: 'ghs_test',
      TEST_TIMEOUT: '60s',
      WORKER_CONCURRENCY: '2',
    });
    registry = t.app.get(RegistryClient);
    adminToken = await t.token(['admin']);
    await registerProject(t.url, adminToken, owner, 'web', repo.cloneUrl);
  });

  afterAll(async () => {
    await t?.close();
    await github.stop();
    repo.remove();
  });

  const push = (sha: string, branch = 'main', deliveryId = randomUUID()) =>
    deliver(t.url, pushPayload(owner, 'web', sha, branch), { deliveryId });

  async function finished(buildId: string) {
    return eventually(
      async () => {
        const res = await request(t.url).get(`/api/v1/builds/${buildId}`).set('Authorization', `Bearer ${adminToken}`);
        return ['passed', 'failed', 'error', 'cancelled', 'superseded'].includes(res.body.status) && res.body;
      },
      120_000,
      `build ${buildId} to finish`,
    );
  }

  async function logs(buildId: string): Promise<string> {
    const res = await request(t.url).get(`/api/v1/builds/${buildId}/logs`).set('Authorization', `Bearer ${adminToken}`);
    return res.text;
  }

  it('builds, tests and puts a passing push into dev by digest, with statuses', async () => {
    const sha = repo.commit({
      Dockerfile: SCRATCH_DOCKERFILE,
      'app/test.sh': 'echo "all green"; test "$(cat /app/version)" = 1\n',
      'app/version': '1',
      '.dockyard.yml': pipeline('  - name: unit\n    run: sh /app/test.sh'),
    });
    const res = await push(sha).expect(202);
    expect(res.body).toMatchObject({ status: 'queued', buildId: expect.any(String) });

    const build = await finished(res.body.buildId);
    expect(build).toMatchObject({ status: 'passed', sha, reason: null });
    expect(build.image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(build.image.sizeBytes).toBeGreaterThan(500_000);
    expect(build.testRuns).toEqual([expect.objectContaining({ name: 'unit', status: 'passed', exitCode: 0 })]);
    expect(await registry.resolve(image, 'dev')).toBe(build.image.digest);
    expect(await registry.resolve(image, `sha-${sha.slice(0, 12)}`)).toBe(build.image.digest);
    expect(await logs(build.id)).toContain('all green');

    const release = await t.prisma.release.findFirstOrThrow({ where: { buildId: build.id }, include: { stage: true } });
    expect(release).toMatchObject({ digest: build.image.digest, stage: { name: 'dev' } });

    await eventually(async () => github.of(sha, 'dockyard/test').includes('success'), 20_000, 'test status');
    await eventually(async () => github.of(sha, 'dockyard/build').includes('success'), 20_000, 'build status');
    expect(github.of(sha, 'dockyard/build')[0]).toBe('pending');
    const last = github.statuses.filter((s) => s.sha === sha && s.context === 'dockyard/build').at(-1)!;
    expect(last.target_url).toBe(`${t.config.http.publicUrl}/builds/${build.id}`);
  });

  it('fails on a failing test: no dev change, status failure, output in the log', async () => {
    const devBefore = await registry.resolve(image, 'dev');
    const sha = repo.commit({
      'app/version': '2',
      '.dockyard.yml': pipeline('  - name: unit\n    run: echo "expected 1, got $(cat /app/version)"; exit 3'),
    });
    const build = await finished((await push(sha).expect(202)).body.buildId);
    expect(build).toMatchObject({ status: 'failed', reason: 'test unit failed: exit code 3' });
    expect(build.testRuns[0]).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(await logs(build.id)).toContain('expected 1, got 2');
    expect(await registry.resolve(image, 'dev')).toBe(devBefore);
    await eventually(async () => github.of(sha, 'dockyard/test').includes('failure'), 20_000, 'failure status');
  });

  it('kills a test past its timeout and keeps tests off the network', async () => {
    const sha = repo.commit({
      '.dockyard.yml': pipeline(
        ['  - name: offline', '    run: echo "interfaces=$(ls /sys/class/net)"; nc -w 2 1.1.1.1 53 </dev/null'].join(
          '\n',
        ),
      ),
    });
    const offline = await finished((await push(sha).expect(202)).body.buildId);
    expect(offline.status).toBe('failed');
    const output = await logs(offline.id);
    // Only the loopback interface exists, so the connection cannot even be attempted.
    expect(output).toContain('interfaces=lo\n');
    expect(output).toContain('Network is unreachable');

    const slowSha = repo.commit({
      '.dockyard.yml': pipeline('  - name: slow\n    run: sleep 30\n    timeout: 2s\n  - name: after\n    run: "true"'),
    });
    const started = Date.now();
    const slow = await finished((await push(slowSha).expect(202)).body.buildId);
    expect(slow.testRuns).toEqual([
      expect.objectContaining({ name: 'slow', status: 'timed_out', reason: 'killed after 2000 ms' }),
      expect.objectContaining({ name: 'after', status: 'cancelled' }),
    ]);
    expect(Date.now() - started).toBeLessThan(28_000);
  });

  it('fails a broken Dockerfile with the Docker error in the log', async () => {
    const sha = repo.commit({
      Dockerfile: 'FROM scratch\nCOPY does-not-exist /x\n',
      '.dockyard.yml': pipeline('  []'),
    });
    const build = await finished((await push(sha).expect(202)).body.buildId);
    expect(build.status).toBe('failed');
    expect(build.reason).toMatch(/docker build failed: .*does-not-exist/);
    expect(await logs(build.id)).toMatch(/does-not-exist/);
    repo.commit({ Dockerfile: SCRATCH_DOCKERFILE });
  });

  it('fails an invalid .dockyard.yml with the line and the reason', async () => {
    const sha = repo.commit({ '.dockyard.yml': `image: ${image}\ntest:\n  - name: unit\n    command: x\n` });
    const build = await finished((await push(sha).expect(202)).body.buildId);
    expect(build.status).toBe('failed');
    expect(await logs(build.id)).toMatch(/\.dockyard\.yml: line 3: test\.0/);
  });

  it('answers one delivery id sent three times with one build', async () => {
    const sha = repo.commit({ '.dockyard.yml': pipeline('  []') });
    const delivery = randomUUID();
    const first = await push(sha, 'main', delivery).expect(202);
    const again = await push(sha, 'main', delivery).expect(200);
    const third = await push(sha, 'main', delivery).expect(200);
    expect(again.body).toMatchObject({ buildId: first.body.buildId, duplicate: true });
    expect(third.body.buildId).toBe(first.body.buildId);
    expect(await t.prisma.build.count({ where: { sha } })).toBe(1);
    await finished(first.body.buildId);
  });

  it('refuses a wrong signature with 401 and records nothing', async () => {
    const deliveries = await t.prisma.webhookDelivery.count();
    const builds = await t.prisma.build.count();
    const res = await deliver(t.url, pushPayload(owner, 'web', 'b'.repeat(40)), { secret: 'not-the-secret' }).expect(
      401,
    );
    expect(res.body.message).toBe('X-Hub-Signature-256 does not match');
    expect(await t.prisma.webhookDelivery.count()).toBe(deliveries);
    expect(await t.prisma.build.count()).toBe(builds);
  });

  it('supersedes the older build of a branch when a newer push arrives', async () => {
    const first = repo.commit({ '.dockyard.yml': pipeline('  - name: slow\n    run: sleep 20') }, 'one', 'feature');
    const a = (await push(first, 'feature').expect(202)).body.buildId;
    const second = repo.commit({ '.dockyard.yml': pipeline('  - name: quick\n    run: "true"') }, 'two', 'feature');
    const b = await push(second, 'feature').expect(202);
    expect(b.body.superseded).toEqual([a]);
    const older = await finished(a);
    expect(older).toMatchObject({ status: 'superseded', supersededBy: b.body.buildId });
    expect((await finished(b.body.buildId)).status).toBe('passed');
  });
});
