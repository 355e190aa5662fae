import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { RegistryClient } from '@dockyard/registry';
import { TestApp, deliver, eventually, pushPayload, registerProject, startApp } from './support/app';
import { GitRepo, SCRATCH_DOCKERFILE } from './support/git-repo';

jest.setTimeout(240_000);

const BASE = ['FROM scratch', 'COPY busybox /bin/busybox', 'RUN ["/bin/busybox", "--install", "-s", "/bin"]'];

/** A pull_request delivery as GitHub sends one, from `headRepo`. */
function pullRequestPayload(owner: string, n: number, sha: string, headRepo: string) {
  return {
    action: 'opened',
    number: n,
    pull_request: {
      number: n,
      title: `change #${n}`,
      user: { login: 'mallory' },
      head: { sha, ref: 'feature', repo: { full_name: headRepo } },
      base: { ref: 'main', repo: { full_name: `${owner}/web` } },
    },
    repository: { name: 'web', full_name: `${owner}/web`, owner: { login: owner } },
    sender: { login: 'mallory' },
  };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

describe("a build's trust is its source's, through every route", () => {
  const repo = new GitRepo();
  const owner = `trust${randomBytes(3).toString('hex')}`;
  const value = `s3cr3t-${randomBytes(12).toString('hex')}`;
  let t: TestApp;
  let admin: string;
  let dev: string;
  let mainSha: string;
  let forkHead: string;

  const api = (token: string) => ({
    get: (path: string) => request(t.url).get(path).set('Authorization', `Bearer ${token}`),
    post: (path: string, body: object = {}) =>
      request(t.url).post(path).set('Authorization', `Bearer ${token}`).send(body),
  });
  const finished = (buildId: string) =>
    eventually(
      async () => {
        const b = (await api(admin).get(`/api/v1/builds/${buildId}`)).body;
        return !['queued', 'running'].includes(b.status) && b;
      },
      150_000,
      `build ${buildId}`,
    );
  const logOf = async (buildId: string) => (await api(admin).get(`/api/v1/builds/${buildId}/logs`)).text;

  beforeAll(async () => {
    t = await startApp({ SECRETS_KEY: randomBytes(32).toString('base64') });
    admin = await t.token(['admin']);
    dev = await t.token(['read', 'build', 'promote'], 'dora');
    await registerProject(t.url, admin, owner, 'web', repo.cloneUrl);
    await request(t.url)
      .put(`/api/v1/projects/${owner}/web/secrets/NPM_TOKEN`)
      .set('Authorization', `Bearer ${admin}`)
      .send({ value })
      .expect(200);
    const dockerfile = [
      ...BASE,
      `RUN --mount=type=secret,id=NPM_TOKEN mkdir /app; ` +
        'if test -s /run/secrets/NPM_TOKEN; then echo present > /app/secret; else echo absent > /app/secret; fi',
    ].join('\n');
    const pipeline = `image: ${owner}/web\ntest:\n  - name: secret\n    run: echo "secret=$(cat /app/secret)"\n`;
    mainSha = repo.commit({ Dockerfile: dockerfile, '.dockyard.yml': pipeline }, 'base');
    const main = await finished((await deliver(t.url, pushPayload(owner, 'web', mainSha)).expect(202)).body.buildId);
    expect(main.status).toBe('passed');
    expect(await logOf(main.id)).toContain('secret=present');
    // The fork's commit reaches the base repository only as GitHub's pull request ref.
    forkHead = repo.commit({ 'app/evil': 'x' }, 'from a fork', 'fork-tmp');
    git(repo.dir, 'update-ref', 'refs/pull/7/head', forkHead);
    git(repo.dir, 'checkout', '--quiet', 'main');
    git(repo.dir, 'branch', '-D', 'fork-tmp');
  });

  afterAll(async () => {
    await t?.close();
    repo.remove();
  });

  const devDigest = () => t.app.get(RegistryClient).resolve(`${owner}/web`, 'dev');

  it('keeps a retried or hand-triggered pull request build a pull request build: no secrets, never promoted', async () => {
    const delivered = await deliver(t.url, pullRequestPayload(owner, 7, forkHead, 'mallory/web'), {
      event: 'pull_request',
    }).expect(202);
    const pr = await finished(delivered.body.buildId);
    expect(pr).toMatchObject({ status: 'passed', fromFork: true, pullRequest: 7 });
    const dev0 = await devDigest();

    const retried = await api(dev).post(`/api/v1/builds/${pr.id}/retry`).expect(201);
    const byHand = await api(dev)
      .post(`/api/v1/projects/${owner}/web/builds`, { ref: 'refs/pull/7/head', sha: forkHead })
      .expect(202);
    // A pull request no delivery announced: taken for a fork's (fail closed).
    git(repo.dir, 'update-ref', 'refs/pull/8/head', forkHead);
    const unknown = await api(dev)
      .post(`/api/v1/projects/${owner}/web/builds`, { ref: 'refs/pull/8/head' })
      .expect(202);
    for (const [id, n] of [
      [retried.body.id, 7],
      [byHand.body.buildId, 7],
      [unknown.body.buildId, 8],
    ] as const) {
      const build = await finished(id);
      expect(build).toMatchObject({ status: 'passed', fromFork: true, pullRequest: n, sha: forkHead });
      // No secret is handed to the build. (Its secret step may still be served from BuildKit's
      // layer cache of a base build: that is issue 16's row 2, builds isolated per project and fork.)
      const log = await logOf(id);
      expect(log).toContain(`pull request #${n} comes from a fork: the build gets no secrets`);
      expect(log).not.toContain(value);
      expect(await t.prisma.promotion.count({ where: { buildId: id } })).toBe(0);
      await api(dev)
        .post('/api/v1/promotions', { project: `${owner}/web`, build: id, to: 'dev' })
        .expect(409)
        .expect(({ body }) => expect(body.message).toMatch(/built from a pull request/));
    }
    expect(await devDigest()).toBe(dev0);
  });

  it('refuses a manual build of a commit that is not on the ref it names, and says why', async () => {
    const onMain = await api(dev)
      .post(`/api/v1/projects/${owner}/web/builds`, { ref: 'main', sha: forkHead })
      .expect(400);
    expect(onMain.body.message).toBe(
      `commit ${forkHead} is not on refs/heads/main (or refs/heads/main does not exist)`,
    );
    // A sha alone is taken for the default branch's: the same check.
    const alone = await api(dev).post(`/api/v1/projects/${owner}/web/builds`, { sha: forkHead }).expect(400);
    expect(alone.body.message).toMatch(/is not on refs\/heads\/main/);
    const other = await api(dev)
      .post(`/api/v1/projects/${owner}/web/builds`, { ref: 'refs/remotes/x', sha: mainSha })
      .expect(400);
    expect(other.body.message).toMatch(/not a branch, a tag or a pull request head/);
    expect(await t.prisma.build.count({ where: { sha: forkHead, branch: 'main' } })).toBe(0);
    // An older commit of the branch is on it.
    repo.commit({ 'app/v': 'next' }, 'next');
    const older = await api(dev)
      .post(`/api/v1/projects/${owner}/web/builds`, { ref: 'main', sha: mainSha })
      .expect(202);
    expect((await finished(older.body.buildId)).status).toBe('passed');
  });

  describe('promotions', () => {
    const other = new GitRepo();
    const slug = `${owner}/api`;
    const file = (run: string) => `image: ${slug}\ntest:\n  - name: unit\n    run: ${run}\n`;
    const push = async (files: Record<string, string>) => {
      const sha = other.commit({ Dockerfile: SCRATCH_DOCKERFILE, 'app/v': randomBytes(4).toString('hex'), ...files });
      return (await deliver(t.url, pushPayload(owner, 'api', sha)).expect(202)).body.buildId as string;
    };
    const promote = (token: string, body: object) => api(token).post('/api/v1/promotions', { project: slug, ...body });

    beforeAll(() => registerProject(t.url, admin, owner, 'api', other.cloneUrl));
    afterAll(() => other.remove());

    it("refuses a failed build's image into any stage, by digest as by build", async () => {
      const failed = await finished(await push({ '.dockyard.yml': file('"false"') }));
      expect(failed.status).toBe('failed');
      const digest = failed.image.digest;
      expect(digest).toMatch(/^sha256:/);
      for (const to of ['dev', 'test']) {
        const refused = await promote(dev, { digest, to }).expect(409);
        expect(refused.body.message).toMatch(/has no passed build; only the image of a build whose tests passed/);
        await promote(dev, { build: failed.id, to }).expect(409);
      }
      expect(await t.prisma.promotion.count({ where: { digest } })).toBe(0);
    });

    it("cannot take a build's entry into dev by naming a promotion after it", async () => {
      const first = await finished(await push({ '.dockyard.yml': file('"true"') }));
      expect(first.status).toBe('passed');
      const victim = await push({ '.dockyard.yml': file('sleep 8') });
      await eventually(
        async () => (await t.prisma.testRun.findFirst({ where: { buildId: victim, status: 'running' } })) !== null,
        120_000,
        'victim testing',
      );
      const taken = await promote(dev, { id: victim, digest: first.image.digest, to: 'test' });
      expect([201, 202]).toContain(taken.status);
      const built = await finished(victim);
      expect(built.status).toBe('passed');
      const entry = await t.prisma.promotion.findFirstOrThrow({
        where: { buildId: victim },
        include: { toStage: true },
      });
      expect(entry).toMatchObject({ status: 'promoted', digest: built.image.digest, toStage: { name: 'dev' } });
      expect(entry.id).not.toBe(victim);
      expect(await t.app.get(RegistryClient).resolve(slug, 'dev')).toBe(built.image.digest);
      // The id stays the caller's: the same request again is the same promotion; anyone else's is a 409.
      const again = await promote(dev, { id: victim, digest: first.image.digest, to: 'test' });
      expect(again.body.id).toBe(victim);
      const clash = await promote(admin, { id: victim, digest: built.image.digest, to: 'test' }).expect(409);
      expect(clash.body.message).toBe(`promotion id ${victim} is already taken by another request`);
      await promote(dev, { id: entry.id, digest: first.image.digest, to: 'test' }).expect(409);
    });
  });
});
