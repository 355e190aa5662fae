import { renameSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { RegistryClient } from '@dockyard/registry';
import { TestApp, startApp } from './support/app';
import { SCRATCH_DOCKERFILE } from './support/git-repo';
import { Scenario } from './support/scenario';

jest.setTimeout(300_000);

/**
 * Issue 8, findings 1–4: the gates belong to Dockyard. The code being promoted cannot lower them, a
 * build cannot write past them, projects cannot touch each other's images, and separation of duties
 * sees everyone who touched the promoted range (or waits when it cannot tell).
 */
describe('gates that hold (real services)', () => {
  let t: TestApp;
  let main: Scenario;
  let registry: RegistryClient;

  /** Another project in the same Dockyard, with the same people's tokens. */
  async function project(): Promise<Scenario> {
    const s = new Scenario(t);
    Object.assign(s.tokens, main.tokens);
    await s.register('admin');
    return s;
  }

  const approve = (s: Scenario, id: string, login: string) =>
    request(t.url).post(`/api/v1/promotions/${id}/approve`).set(s.as(login)).send({});

  /** Through dev and test, then asked for prod by alice; returns the waiting promotion. */
  async function askForProd(s: Scenario, digest: string) {
    const toTest = await s.promote('alice', digest, 'test');
    expect(toTest.status).toBe(201);
    const res = await s.promote('alice', digest, 'prod').expect(202);
    expect(res.body).toMatchObject({ status: 'waiting', waitingFor: 'needs 1 more approval(s) for prod' });
    return res.body.id as string;
  }

  beforeAll(async () => {
    t = await startApp();
    main = new Scenario(t);
    registry = t.app.get(RegistryClient);
    await main.user('admin', 'admin', ['admin']);
    await main.user('alice', 'approver', ['read', 'promote', 'approve']);
    await main.user('bob', 'approver', ['read', 'approve']);
    await main.user('carol', 'approver', ['read', 'approve']);
    await main.user('dave', 'developer', ['read', 'promote']);
    await main.register('admin');
  });

  afterAll(async () => {
    await t?.close();
    main?.remove();
  });

  it("finding 1: a file saying prod needs 0 approvals does not lower the project's policy", async () => {
    const s = await project();
    const digest = await s.pushAndBuild(
      {
        Dockerfile: SCRATCH_DOCKERFILE,
        'app/v': '1',
        '.dockyard.yml': [
          'stages:',
          '  - { name: dev, auto: true }',
          '  - { name: test }',
          '  - { name: prod, approvals: 0, separationOfDuties: false }',
        ].join('\n'),
      },
      'admin',
    );
    await s.promote('dave', digest, 'test').expect(201);
    const res = await s.promote('dave', digest, 'prod').expect(202);
    expect(res.body).toMatchObject({
      status: 'waiting',
      waitingFor: 'needs 1 more approval(s) for prod',
      approvals: [],
    });
    expect(await s.stages('admin')).toMatchObject({ dev: digest, test: digest, prod: null });
    expect(await registry.resolve(s.image, 'prod')).toBeNull();
    // The project's policy, not the file, is what the API shows.
    const policy = await request(t.url).get(`/api/v1/projects/${s.slug}/policy`).set(s.as('dave')).expect(200);
    expect(policy.body).toMatchObject({
      version: 1,
      namespace: s.image,
      policy: { stages: [{ name: 'dev' }, { name: 'test' }, { name: 'prod', approvals: 1, separationOfDuties: true }] },
    });
  });

  it('finding 2: a file cannot make prod automatic, and an automatic later stage goes through its gates', async () => {
    const s = await project();
    const sneaky = await s.pushBuild(
      s.repo.commit({
        Dockerfile: SCRATCH_DOCKERFILE,
        'app/v': '2',
        '.dockyard.yml': 'stages:\n  - { name: prod, auto: true }\n',
      }),
      'admin',
    );
    expect(sneaky).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('prod.auto: only an admin can make "prod" automatic'),
    });
    expect(await registry.resolve(s.image, 'prod')).toBeNull();
    expect(await s.stages('admin')).toEqual({ dev: null, test: null, prod: null });

    // An admin makes test automatic and asks 2 approvals for prod; the file adds a smoke suite to test.
    const changed = await request(t.url)
      .put(`/api/v1/projects/${s.slug}/policy`)
      .set(s.as('admin'))
      .send({
        stages: [
          { name: 'dev', auto: true },
          { name: 'test', auto: true },
          { name: 'prod', approvals: 2 },
        ],
        comment: 'test follows dev',
      })
      .expect(200);
    expect(changed.body).toMatchObject({ version: 2, createdBy: 'admin' });
    const digest = await s.pushAndBuild(
      {
        'app/v': '3',
        '.dockyard.yml': 'stages:\n  - name: test\n    test: [{ name: smoke, run: "test -f /app/v" }]\n',
      },
      'admin',
    );
    const entered = await t.prisma.release.findFirstOrThrow({ where: { digest, stage: { name: 'dev' } } });
    expect(entered.buildId).not.toBeNull();
    expect(await registry.resolve(s.image, 'dev')).toBe(digest);
    // test takes it through its suite, in the worker.
    const auto = await t.prisma.promotion.findFirstOrThrow({ where: { digest, toStage: { name: 'test' } } });
    const settled = await s.settled(auto.id, 'admin');
    expect(settled).toMatchObject({
      status: 'promoted',
      requestedBy: 'system',
      testRuns: [expect.objectContaining({ name: 'smoke', status: 'passed' })],
    });
    expect(await registry.resolve(s.image, 'test')).toBe(digest);
    // prod is not automatic and needs the admin's 2 approvals; the registry and the record agree.
    expect(await registry.resolve(s.image, 'prod')).toBeNull();
    const toProd = await s.promote('alice', digest, 'prod').expect(202);
    expect(toProd.body.waitingFor).toBe('needs 2 more approval(s) for prod');
    expect(await s.stages('admin')).toEqual({ dev: digest, test: digest, prod: null });
    const versions = await request(t.url).get(`/api/v1/projects/${s.slug}/policy/versions`).set(s.as('bob'));
    expect(versions.body).toEqual([
      expect.objectContaining({ version: 2, createdBy: 'admin', comment: 'test follows dev' }),
    ]);
    const audit = await request(t.url).get(`/api/v1/audit?project=${s.slug}`).set(s.as('bob'));
    expect(audit.body).toContainEqual(
      expect.objectContaining({
        action: 'policy.changed',
        actor: 'admin',
        detail: expect.objectContaining({ version: 2 }),
      }),
    );
  });

  it("finding 3: projects live in their own registry namespaces and cannot write each other's", async () => {
    const a = await project();
    const b = await project();
    // Two projects named "web" under different owners: two repositories, never one.
    const aDigest = await a.pushAndBuild({ Dockerfile: SCRATCH_DOCKERFILE, 'app/v': 'a' }, 'admin');
    const bBuild = await b.pushBuild(b.repo.commit({ Dockerfile: SCRATCH_DOCKERFILE, 'app/v': 'b' }), 'admin');
    expect(bBuild.status).toBe('passed');
    expect(bBuild.image.repository).toBe(`${b.owner}/web`);
    expect(await registry.resolve(`${a.owner}/web`, 'dev')).toBe(aDigest);
    expect(await registry.resolve(`${b.owner}/web`, 'dev')).toBe(bBuild.image.digest);

    // b names a's repository as its image: b's build fails before anything is pushed.
    const sha = b.repo.commit({ 'app/v': 'evil', '.dockyard.yml': `image: ${a.image}\n` });
    const hijack = await b.pushBuild(sha, 'admin');
    expect(hijack).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining(`image: "${a.image}" is outside this project's registry namespace "${b.image}"`),
    });
    expect(await registry.resolve(a.image, 'dev')).toBe(aDigest);
    expect(await registry.resolve(a.image, `sha-${sha.slice(0, 12)}`)).toBeNull();

    // A stage kept in a repository outside the namespace needs an admin's say-so in the policy.
    const elsewhere = `${b.owner}/releases`;
    const file = `stages:\n  - { name: prod, repository: ${elsewhere} }\n`;
    const refused = await b.pushBuild(b.repo.commit({ 'app/v': 'r1', '.dockyard.yml': file }), 'admin');
    expect(refused.reason).toContain(`"${elsewhere}" is outside this project's registry namespace`);
    await request(t.url)
      .put(`/api/v1/projects/${b.slug}/policy`)
      .set(b.as('admin'))
      .send({
        stages: [{ name: 'dev', auto: true }, { name: 'test' }, { name: 'prod', approvals: 1 }],
        repositories: [elsewhere],
      })
      .expect(200);
    const allowed = await b.pushBuild(b.repo.commit({ 'app/v': 'r2', '.dockyard.yml': file }), 'admin');
    expect(allowed.status).toBe('passed');
  });

  it("finding 4: an approver's own commit buried under 1,000 newer commits is seen", async () => {
    const s = await project();
    s.repo.commit({ Dockerfile: SCRATCH_DOCKERFILE, 'app/v': '4' }, 'mine', 'main', 'bob');
    const top = s.repo.commitMany(1000, 'alice');
    const build = await s.pushBuild(top, 'admin');
    expect(build.status).toBe('passed');
    const id = await askForProd(s, build.image.digest);
    const res = await approve(s, id, 'bob').expect(403);
    expect(res.body.message).toBe('bob pushed or authored a commit in this promotion (bob) and may not approve it');
    await approve(s, id, 'carol').expect(201);
  });

  it('finding 4: whoever pushed a commit below the promoted one may not approve it', async () => {
    const s = await project();
    const x = await s.pushBuild(s.repo.commit({ Dockerfile: SCRATCH_DOCKERFILE, 'app/v': 'x' }), 'admin', 'bob');
    expect(x.status).toBe('passed');
    const y = await s.pushBuild(s.repo.commit({ 'app/v': 'y' }, 'on top', 'main', 'carol'), 'admin', 'carol');
    const id = await askForProd(s, y.image.digest);
    const res = await approve(s, id, 'bob').expect(403);
    expect(res.body.message).toBe('bob pushed or authored a commit in this promotion (bob) and may not approve it');
    expect((await approve(s, id, 'carol').expect(403)).body.message).toMatch(/^carol pushed or authored/);
  });

  it('finding 4: when the history cannot be read, the promotion waits (closed) and says why', async () => {
    const s = await project();
    const digest = await s.pushAndBuild({ Dockerfile: SCRATCH_DOCKERFILE, 'app/v': 'h' }, 'admin');
    // The repository goes away and Dockyard's mirror of it with it, before anyone reads its history.
    const moved = `${s.repo.dir}-moved`;
    renameSync(s.repo.dir, moved);
    for (const entry of readdirSync(t.config.git.cacheDir))
      rmSync(path.join(t.config.git.cacheDir, entry), { recursive: true, force: true });
    let id: string;
    try {
      id = await askForProd(s, digest);
      const res = await approve(s, id, 'bob');
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({
        status: 'waiting',
        waitingFor: expect.stringMatching(
          /^separation of duties cannot be checked: the history of [0-9a-f]{12} cannot be read/,
        ),
      });
      expect(await s.stages('admin')).toMatchObject({ prod: null });
    } finally {
      renameSync(moved, s.repo.dir);
    }
    // Readable again: bob's approval counts.
    const again = await approve(s, id, 'bob').expect(201);
    expect(again.body.status).toBe('promoted');
    expect(await registry.resolve(s.image, 'prod')).toBe(digest);
  });
});
