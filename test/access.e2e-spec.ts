import request from 'supertest';
import { TestApp, startApp } from './support/app';
import { SCRATCH_DOCKERFILE } from './support/git-repo';
import { Scenario } from './support/scenario';

jest.setTimeout(180_000);

/** Issue 8, findings 5 and 11: what a token may do, on behalf of whom, and the audit of who may do what. */
describe('tokens, on-behalf and the audit of access changes', () => {
  let t: TestApp;
  let s: Scenario;
  let digest: string;

  beforeAll(async () => {
    t = await startApp();
    s = new Scenario(t);
    await s.user('root', 'admin', ['admin']);
    await s.user('carol', 'developer', ['read', 'build', 'promote']);
    // A chat bot's user is a viewer; its token lends scopes to the people it acts for.
    await s.user('chatbot', 'viewer', ['read', 'promote', 'approve', 'on-behalf']);
    await s.user('readbot', 'viewer', ['read', 'on-behalf']);
    // An admin's narrower token: only what its scopes say.
    await s.user('ops', 'admin', ['read', 'promote']);
    await s.register('root');
    digest = await s.pushAndBuild(
      { Dockerfile: SCRATCH_DOCKERFILE, 'app/v': '1', '.dockyard.yml': `image: ${s.image}\n` },
      'root',
    );
  });

  afterAll(async () => {
    s?.remove();
    await t?.close();
  });

  const api = () => request(t.url);
  const onBehalf = (bot: string, person: string) => ({ ...s.as(bot), 'X-On-Behalf-Of': person });
  const audit = async () =>
    (await api().get('/api/v1/audit?limit=500').set(s.as('root')).expect(200)).body as {
      action: string;
      actor: string;
      via: string;
      subject: string;
      detail: Record<string, unknown>;
    }[];

  it('never lets a bot acting for an admin force a promotion, past the stage order or at all', async () => {
    const res = await api()
      .post('/api/v1/promotions')
      .set(onBehalf('chatbot', 'root'))
      .send({ project: s.slug, digest, to: 'prod', force: true })
      .expect(403);
    expect(res.body.message).toContain('only an admin may force');
    expect((await s.stages('root')).prod).toBeNull();
  });

  it("caps an admin's own narrower token by its scopes: no force without the admin scope", async () => {
    const res = await s.promote('ops', digest, 'prod', { force: true }).expect(403);
    expect(res.body.message).toContain('only an admin may force');
  });

  it('refuses admin routes on behalf of an admin: stage policy, project registration, project settings', async () => {
    await api()
      .put(`/api/v1/projects/${s.slug}/stages/prod/policy`)
      .set(onBehalf('chatbot', 'root'))
      .send({ approvals: 0 })
      .expect(403);
    await api()
      .post('/api/v1/projects')
      .set(onBehalf('chatbot', 'root'))
      .send({ owner: s.owner, name: 'other', cloneUrl: 'https://example.com/other.git' })
      .expect(403);
    await api()
      .patch(`/api/v1/projects/${s.slug}`)
      .set(onBehalf('chatbot', 'root'))
      .send({ testOptOuts: true })
      .expect(403);
  });

  it("gives a bot acting for someone only what both its token and the person's role allow", async () => {
    // carol is a developer: the bot's approve scope is not hers to use.
    const asked = await api()
      .post('/api/v1/promotions')
      .set(onBehalf('chatbot', 'carol'))
      .send({ project: s.slug, digest, to: 'test' })
      .expect(201);
    expect(asked.body.requestedBy).toBe('carol');
    const res = await api()
      .post(`/api/v1/promotions/${asked.body.id}/approve`)
      .set(onBehalf('chatbot', 'carol'))
      .send({})
      .expect(403);
    expect(res.body.message).toContain('lacks the "approve" scope');
  });

  it("lets only an admin's own token revoke another person's token, never a bot acting for one", async () => {
    const created = await api()
      .post('/api/v1/tokens')
      .set(s.as('carol'))
      .send({ name: 'laptop', scopes: ['read'] })
      .expect(201);
    await api().delete(`/api/v1/tokens/${created.body.id}`).set(onBehalf('readbot', 'root')).expect(403);
    await api().delete(`/api/v1/tokens/${created.body.id}`).set(s.as('ops')).expect(404);
    await api().get('/api/v1/builds').set('Authorization', `Bearer ${created.body.token}`).expect(200);

    await api().delete(`/api/v1/tokens/${created.body.id}`).set(s.as('root')).expect(204);
    await api().get('/api/v1/builds').set('Authorization', `Bearer ${created.body.token}`).expect(401);
  });

  it('audits token creation and revocation: who, through which channel, for whom, which scopes', async () => {
    const created = await api()
      .post('/api/v1/tokens')
      .set(s.as('carol'))
      .send({ name: 'ci', scopes: ['read', 'build'] })
      .expect(201);
    await api().delete(`/api/v1/tokens/${created.body.id}`).set(s.as('carol')).expect(204);
    const events = (await audit()).filter((e) => e.subject === created.body.id);
    expect(events).toEqual([
      expect.objectContaining({
        action: 'token.revoked',
        actor: 'carol',
        via: 'api',
        detail: expect.objectContaining({ owner: 'carol', name: 'ci' }),
      }),
      expect.objectContaining({
        action: 'token.created',
        actor: 'carol',
        via: 'api',
        detail: expect.objectContaining({ owner: 'carol', name: 'ci', scopes: ['read', 'build'] }),
      }),
    ]);
    // Tokens made outside the API (the CLI, as for this test's users) are audited too.
    expect((await audit()).filter((e) => e.action === 'token.created' && e.actor === 'cli').length).toBeGreaterThan(4);
  });
});
