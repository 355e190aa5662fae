import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Clock } from '@dockyard/pipeline';
import { RegistryClient } from '@dockyard/registry';
import { TestApp, startApp } from './support/app';
import { SCRATCH_DOCKERFILE } from './support/git-repo';
import { Scenario } from './support/scenario';

jest.setTimeout(240_000);

describe('promotion dev → test → prod by digest (real services)', () => {
  let t: TestApp;
  let s: Scenario;
  let owner: string;
  let image: string;
  let registry: RegistryClient;

  /** .dockyard.yml with a smoke suite before `test` and one approval for `prod`. */
  const pipeline = (smoke: string, extra = '') =>
    [
      `image: ${image}`,
      'test:',
      '  - { name: unit, run: "true" }',
      'stages:',
      '  - { name: dev, auto: true }',
      '  - name: test',
      '    test:',
      `      - { name: smoke, run: "${smoke}" }`,
      extra,
      '  - { name: prod, approvals: 1 }',
    ]
      .filter(Boolean)
      .join('\n');

  const as = (login: string) => s.as(login);
  const pushAndBuild = (files: Record<string, string>) => s.pushAndBuild(files, 'admin');
  const promote = (login: string, digest: string, to: string, extra: Record<string, unknown> = {}) =>
    s.promote(login, digest, to, extra);
  const promotion = (id: string) => s.promotion(id, 'admin');
  const settled = (id: string) => s.settled(id, 'admin');
  const stages = () => s.stages('admin');

  let first: string;

  beforeAll(async () => {
    t = await startApp();
    s = new Scenario(t);
    ({ owner, image } = s);
    registry = t.app.get(RegistryClient);
    await s.user('admin', 'admin', ['admin']);
    await s.user('alice', 'approver', ['read', 'promote', 'approve']);
    await s.user('bob', 'approver', ['read', 'approve']);
    await s.user('bot', 'developer', ['read', 'promote', 'approve', 'on-behalf']);
    await s.register('admin');
  });

  afterAll(async () => {
    await t?.close();
    s?.remove();
  });

  it('takes one digest dev → test (suite before entry) → prod (1 approval), every tag that digest', async () => {
    first = await pushAndBuild({
      Dockerfile: SCRATCH_DOCKERFILE,
      'app/v': '1',
      '.dockyard.yml': pipeline('test -f /app/v'),
    });
    expect(await stages()).toMatchObject({ dev: first, test: null, prod: null });

    await promote('alice', first, 'prod').expect(409);
    const toTest = await promote('alice', first, 'test').expect(202);
    expect(toTest.body).toMatchObject({ status: 'testing', waitingFor: 'running 1 test(s) before test' });
    const tested = await settled(toTest.body.id);
    expect(tested).toMatchObject({
      status: 'promoted',
      testRuns: [expect.objectContaining({ name: 'smoke', status: 'passed' })],
    });

    const toProd = await promote('alice', first, 'prod').expect(202);
    expect(toProd.body).toMatchObject({ status: 'waiting', waitingFor: 'needs 1 more approval(s) for prod' });

    const own = await request(t.url)
      .post(`/api/v1/promotions/${toProd.body.id}/approve`)
      .set(as('alice'))
      .send({})
      .expect(403);
    expect(own.body.message).toBe('alice requested this promotion and may not approve it');
    const ok = await request(t.url)
      .post(`/api/v1/promotions/${toProd.body.id}/approve`)
      .set(as('bob'))
      .send({ comment: 'lgtm' })
      .expect(201);
    expect(ok.body).toMatchObject({
      status: 'promoted',
      approvals: [{ by: 'bob', approved: true, comment: 'lgtm', via: 'api' }],
    });

    expect(await stages()).toEqual({ dev: first, test: first, prod: first });
    for (const tag of ['dev', 'test', 'prod']) expect(await registry.resolve(image, tag)).toBe(first);

    const audit = (await request(t.url).get(`/api/v1/audit?project=${owner}/web&limit=100`).set(as('bob'))).body as {
      action: string;
      actor: string;
    }[];
    const actions = audit.map((a) => a.action).reverse();
    expect(actions).toEqual(
      expect.arrayContaining([
        'stage.entered',
        'promotion.refused',
        'promotion.requested',
        'promotion.tested',
        'stage.promoted',
        'approval.refused',
        'promotion.approved',
      ]),
    );
    expect(actions.indexOf('promotion.tested')).toBeLessThan(actions.lastIndexOf('stage.promoted'));
  });

  it('refuses the pusher as approver even when someone else asked', async () => {
    // alice authored the commits (the test repo commits as alice), the bot asks for carol's... for bob.
    const digest = await pushAndBuild({ 'app/v': '2' });
    expect((await settled((await promote('alice', digest, 'test').expect(202)).body.id)).status).toBe('promoted');
    const asked = await request(t.url)
      .post('/api/v1/promotions')
      .set(as('bot'))
      .set('X-On-Behalf-Of', 'bob')
      .send({ project: `${owner}/web`, digest, to: 'prod' })
      .expect(202);
    expect(asked.body.requestedBy).toBe('bob');
    const refused = await request(t.url)
      .post(`/api/v1/promotions/${asked.body.id}/approve`)
      .set(as('alice'))
      .send({})
      .expect(403);
    expect(refused.body.message).toMatch(/^alice pushed or authored a commit in this promotion \(alice\)/);
    // The bot cannot act for someone without the scope, and policy applies to the named person.
    await request(t.url)
      .post('/api/v1/promotions')
      .set(as('alice'))
      .set('X-On-Behalf-Of', 'bob')
      .send({ project: `${owner}/web`, digest, to: 'prod' })
      .expect(403);
    await request(t.url)
      .post(`/api/v1/promotions/${asked.body.id}/reject`)
      .set(as('admin'))
      .send({ comment: 'not this one' })
      .expect(201);
    expect((await promotion(asked.body.id)).status).toBe('rejected');
    expect(await stages()).toMatchObject({ prod: first });
  });

  it('blocks the promotion when the test-stage suite fails, and the stages keep their digests', async () => {
    const before = await stages();
    const broken = await pushAndBuild({ 'app/v': '3', '.dockyard.yml': pipeline('test -f /app/missing') });
    const p = await promote('alice', broken, 'test').expect(202);
    const done = await settled(p.body.id);
    expect(done).toMatchObject({ status: 'blocked', reason: 'test smoke failed: exit code 1' });
    const after = await stages();
    expect(after.test).toBe(before.test);
    expect(after.dev).toBe(broken);
    expect(await registry.resolve(image, 'test')).toBe(before.test);
  });

  it('rolls prod back to the previous digest, in the registry and in Release', async () => {
    const second = await pushAndBuild({ 'app/v': '4', '.dockyard.yml': pipeline('test -f /app/v') });
    await settled((await promote('alice', second, 'test').expect(202)).body.id);
    const up = await promote('alice', second, 'prod').expect(202);
    await request(t.url).post(`/api/v1/promotions/${up.body.id}/approve`).set(as('bob')).send({}).expect(201);
    expect(await registry.resolve(image, 'prod')).toBe(second);

    const back = await request(t.url)
      .post(`/api/v1/projects/${owner}/web/stages/prod/rollback`)
      .set(as('alice'))
      .send({})
      .expect(202);
    expect(back.body).toMatchObject({
      kind: 'rollback',
      digest: first,
      waitingFor: 'needs 1 more approval(s) for prod',
    });
    await request(t.url).post(`/api/v1/promotions/${back.body.id}/approve`).set(as('bob')).send({}).expect(201);
    expect(await registry.resolve(image, 'prod')).toBe(first);
    expect((await stages()).prod).toBe(first);
    const audit = (await request(t.url).get(`/api/v1/audit?project=${owner}/web`).set(as('bob'))).body as {
      action: string;
    }[];
    expect(audit[0].action).toBe('stage.rolled_back');
  });

  it('serializes two concurrent promotions into prod: the stage and the registry agree', async () => {
    const a = await pushAndBuild({ 'app/v': '5' });
    const b = await pushAndBuild({ 'app/v': '6' });
    const [pa, pb] = await Promise.all([
      promote('admin', a, 'prod', { force: true }),
      promote('admin', b, 'prod', { force: true }),
    ]);
    expect([pa.status, pb.status]).toEqual([201, 201]);
    const releases = await t.prisma.release.findMany({
      where: { stage: { name: 'prod', project: { owner } } },
      orderBy: { createdAt: 'desc' },
      take: 2,
    });
    expect(releases.map((r) => r.digest).sort()).toEqual([a, b].sort());
    expect(await registry.resolve(image, 'prod')).toBe(releases[0].digest);
    const promoted = await t.prisma.auditEvent.count({
      where: { action: 'stage.promoted', subject: { in: [pa.body.id, pb.body.id] } },
    });
    expect(promoted).toBe(2);
  });

  it('waits inside a freeze window and promotes when it ends', async () => {
    const from = new Date('2030-01-01T00:00:00Z');
    const to = new Date(from.getTime() + 3_000);
    const frozen = await pushAndBuild({
      'app/v': '7',
      '.dockyard.yml': pipeline('true', `    freeze: [{ from: "${from.toISOString()}", to: "${to.toISOString()}" }]`),
    });
    t.app.get(Clock).set(new Date(from.getTime() + 500));
    try {
      const p = await promote('alice', frozen, 'test').expect(202);
      expect((await promotion(p.body.id)).waitingFor).toBe(`test is frozen until ${to.toISOString()}`);
      const done = await settled(p.body.id);
      expect(done.status).toBe('promoted');
      expect(await registry.resolve(image, 'test')).toBe(frozen);
    } finally {
      t.app.get(Clock).set(new Date());
    }
  });

  it("follows the project's policy as an admin changes it, and writes a stage kept in a repository the policy allows", async () => {
    const released = `${owner}/released`;
    // The file may name another repository only where the project's policy allows it.
    const yml = pipeline('true').replace(
      '  - { name: prod, approvals: 1 }',
      `  - { name: prod, repository: ${released} }`,
    );
    await request(t.url)
      .put(`/api/v1/projects/${owner}/web/policy`)
      .set(as('admin'))
      .send({
        stages: [{ name: 'dev', auto: true }, { name: 'test' }, { name: 'prod', approvals: 1 }],
        repositories: [released],
      })
      .expect(200);
    const digest = await pushAndBuild({ 'app/v': '8', '.dockyard.yml': yml });
    await settled((await promote('alice', digest, 'test').expect(202)).body.id);
    await request(t.url)
      .put(`/api/v1/projects/${owner}/web/stages/prod/policy`)
      .set(as('alice'))
      .send({ approvals: 0 })
      .expect(403);
    const changed = await request(t.url)
      .put(`/api/v1/projects/${owner}/web/stages/prod/policy`)
      .set(as('admin'))
      .send({ approvals: 0, comment: 'release day' })
      .expect(200);
    expect(changed.body).toMatchObject({
      version: 3,
      createdBy: 'admin',
      policy: { stages: [{}, {}, { approvals: 0 }] },
    });
    const p = await promote('alice', digest, 'prod').expect(201);
    expect(p.body.status).toBe('promoted');
    // Blobs mounted from the image's repository: the tag resolves there, by the same digest.
    expect(await registry.resolve(released, 'prod')).toBe(digest);
    await request(t.url)
      .put(`/api/v1/projects/${owner}/web/stages/prod/policy`)
      .set(as('admin'))
      .send({ approvals: 1 })
      .expect(200);
    const audit = (await request(t.url).get(`/api/v1/audit?project=${owner}/web`).set(as('bob'))).body as {
      action: string;
      actor: string;
    }[];
    expect(audit.filter((a) => a.action === 'policy.changed').map((a) => a.actor)).toEqual(['admin', 'admin', 'admin']);
  });

  it("is idempotent by the caller's id, and fails without touching the stage when the registry write fails", async () => {
    const digest = await pushAndBuild({ 'app/v': '9', '.dockyard.yml': pipeline('true') });
    const id = randomUUID();
    const once = await promote('alice', digest, 'test', { id }).expect(202);
    const twice = await promote('alice', digest, 'test', { id }).expect((r) => expect([201, 202]).toContain(r.status));
    expect(twice.body.id).toBe(once.body.id);
    await settled(id);
    expect(await t.prisma.promotion.count({ where: { id } })).toBe(1);

    // The manifest vanishes from the registry (say, a clean-up job): the write to prod must fail cleanly.
    const gone = await pushAndBuild({ 'app/v': '10', '.dockyard.yml': pipeline('true') });
    await settled((await promote('alice', gone, 'test').expect(202)).body.id);
    const before = await stages();
    const tagBefore = await registry.resolve(image, 'prod');
    await registry.deleteManifest(image, gone);
    const failed = await promote('admin', gone, 'prod', { force: true }).expect(202);
    expect(failed.body).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^registry write failed: .*is not in the registry/),
    });
    expect((await stages()).prod).toBe(before.prod);
    expect(await registry.resolve(image, 'prod')).toBe(tagBefore);
  });

  it('lets a user make, use and revoke a token of their own, never wider than theirs', async () => {
    const made = await request(t.url)
      .post('/api/v1/tokens')
      .set(as('bob'))
      .send({ name: 'chat', scopes: ['read'], days: 1 })
      .expect(201);
    expect(made.body.token).toMatch(/^dky_[0-9a-f]{8}_/);
    const stored = await t.prisma.apiToken.findUniqueOrThrow({ where: { id: made.body.id } });
    expect(JSON.stringify(stored)).not.toContain(made.body.token);
    await request(t.url).get('/api/v1/audit').set('Authorization', `Bearer ${made.body.token}`).expect(200);
    const wider = await request(t.url)
      .post('/api/v1/tokens')
      .set(as('bob'))
      .send({ name: 'x', scopes: ['admin'] })
      .expect(403);
    expect(wider.body.message).toBe('this token may not grant scope(s) it lacks: admin');
    await request(t.url).delete(`/api/v1/tokens/${made.body.id}`).set(as('bob')).expect(204);
    const revoked = await request(t.url)
      .get('/api/v1/audit')
      .set('Authorization', `Bearer ${made.body.token}`)
      .expect(401);
    expect(revoked.body.message).toBe('the API token was revoked');
    await t.prisma.apiToken.update({
      where: { id: stored.id },
      data: { revokedAt: null, expiresAt: new Date(Date.now() - 1000) },
    });
    const expired = await request(t.url)
      .get('/api/v1/audit')
      .set('Authorization', `Bearer ${made.body.token}`)
      .expect(401);
    expect(expired.body.message).toBe('the API token has expired');
  });

  it('answers 401 without credentials and 403 with the reason, changing nothing', async () => {
    const before = await stages();
    await request(t.url)
      .post('/api/v1/promotions')
      .send({ project: `${owner}/web`, digest: first, to: 'test' })
      .expect(401);
    const res = await promote('bob', first, 'test').expect(403);
    expect(res.body.message).toBe('this token lacks the "promote" scope (it has: read, approve)');
    const force = await promote('alice', first, 'prod', { force: true }).expect(403);
    expect(force.body.message).toBe('only an admin may force a promotion past its policy');
    expect(await stages()).toEqual(before);
  });
});
