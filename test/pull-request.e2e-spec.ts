import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { RegistryClient } from '@dockyard/registry';
import { TestApp, deliver, eventually, pushPayload, registerProject, startApp } from './support/app';
import { FakeGitHub } from './support/fake-github';
import { GitRepo, SCRATCH_DOCKERFILE } from './support/git-repo';

jest.setTimeout(180_000);

/** A pull_request delivery as GitHub sends one. */
function pullRequestPayload(owner: string, name: string, n: number, sha: string, action: string, headRepo: string) {
  return {
    action,
    number: n,
    pull_request: {
      number: n,
      title: `change #${n}`,
      user: { login: 'mallory' },
      head: { sha, ref: 'feature', repo: { full_name: headRepo } },
      base: { ref: 'main', repo: { full_name: `${owner}/${name}` } },
    },
    repository: { name, full_name: `${owner}/${name}`, owner: { login: owner } },
    sender: { login: 'mallory' },
  };
}

describe('pull requests: built and tested, statuses on the head, never promoted', () => {
  const github = new FakeGitHub();
  const repo = new GitRepo();
  const owner = `pr${randomBytes(3).toString('hex')}`;
  const image = `${owner}/web`;
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startApp({ GITHUB_API_URL: await github.start(), GITHUB_TOKEN: 'ghs_test' });
    admin = await t.token(['admin']);
    await registerProject(t.url, admin, owner, 'web', repo.cloneUrl);
  });

  afterAll(async () => {
    await t?.close();
    await github.stop();
    repo.remove();
  });

  const finished = (buildId: string) =>
    eventually(
      async () => {
        const b = (await request(t.url).get(`/api/v1/builds/${buildId}`).set('Authorization', `Bearer ${admin}`)).body;
        return !['queued', 'running'].includes(b.status) && b;
      },
      120_000,
      `build ${buildId}`,
    );
  const pipeline = `image: ${image}\ntest:\n  - name: unit\n    run: cat /app/version\n`;

  it('builds and tests the head of an opened pull request, reports statuses on it, and leaves dev alone', async () => {
    const base = repo.commit({ Dockerfile: SCRATCH_DOCKERFILE, 'app/version': 'main', '.dockyard.yml': pipeline });
    const main = await finished((await deliver(t.url, pushPayload(owner, 'web', base)).expect(202)).body.buildId);
    expect(main.status).toBe('passed');
    const registry = t.app.get(RegistryClient);
    expect(await registry.resolve(image, 'dev')).toBe(main.image.digest);

    const head = repo.commit({ 'app/version': 'feature' }, 'feature work', 'feature');
    // GitHub keeps every pull request's head under refs/pull/N/head of the base repository.
    git(repo.dir, 'update-ref', 'refs/pull/5/head', head);
    const payload = pullRequestPayload(owner, 'web', 5, head, 'opened', `${owner}/web`);
    const res = await deliver(t.url, payload, { event: 'pull_request' }).expect(202);
    const build = await finished(res.body.buildId);
    expect(build).toMatchObject({ status: 'passed', sha: head, ref: 'refs/pull/5/head', trigger: 'pull_request' });
    expect(build.image.digest).toMatch(/^sha256:/);
    expect(await registry.resolve(image, 'dev')).toBe(main.image.digest);
    expect(await t.prisma.release.count({ where: { buildId: build.id } })).toBe(0);
    expect(await t.prisma.promotion.count({ where: { buildId: build.id } })).toBe(0);
    // Nor can anyone ask for it: by build or by digest, the image of a pull request stays out of every stage.
    for (const what of [{ build: build.id }, { digest: build.image.digest }]) {
      const refused = await request(t.url)
        .post('/api/v1/promotions')
        .set('Authorization', `Bearer ${admin}`)
        .send({ project: `${owner}/web`, to: 'dev', ...what })
        .expect(409);
      expect(refused.body.message).toMatch(/built from a pull request; pull request builds never enter a stage/);
    }
    expect(await registry.resolve(image, 'dev')).toBe(main.image.digest);
    await eventually(async () => github.of(head, 'dockyard/test').includes('success'), 20_000, 'test status');
    await eventually(async () => github.of(head, 'dockyard/build').includes('success'), 20_000, 'build status');

    // A closed pull request builds nothing.
    const closed = await deliver(t.url, pullRequestPayload(owner, 'web', 5, head, 'closed', `${owner}/web`), {
      event: 'pull_request',
    }).expect(202);
    expect(closed.body).toEqual({ ignored: true, reason: expect.stringMatching(/closed/) });
  });

  it("builds a fork's pull request from refs/pull/N/head, which no branch holds", async () => {
    // The fork's commit reaches the base repository only as GitHub's pull request ref.
    const head = repo.commit({ 'app/version': 'fork' }, 'from a fork', 'fork-tmp');
    git(repo.dir, 'update-ref', 'refs/pull/9/head', head);
    git(repo.dir, 'checkout', '--quiet', 'main');
    git(repo.dir, 'branch', '-D', 'fork-tmp');
    const payload = pullRequestPayload(owner, 'web', 9, head, 'synchronize', `mallory/web`);
    const build = await finished((await deliver(t.url, payload, { event: 'pull_request' }).expect(202)).body.buildId);
    expect(build).toMatchObject({ status: 'passed', fromFork: true, pullRequest: 9 });
    expect(await t.prisma.release.count({ where: { buildId: build.id } })).toBe(0);
  });
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' });
}
