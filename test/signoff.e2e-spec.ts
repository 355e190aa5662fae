import request from 'supertest';
import { TestApp, startApp } from './support/app';
import { SCRATCH_DOCKERFILE } from './support/git-repo';
import { Scenario } from './support/scenario';

jest.setTimeout(300_000);

/** Manual test sign-off: a tester's "tested: passes" / "fails" on what a stage holds gates what leaves it. */
describe('sign-off (real services)', () => {
  let t: TestApp;
  let s: Scenario;

  const signOff = (login: string, stage: string, body: Record<string, unknown>) =>
    request(t.url).post(`/api/v1/projects/${s.slug}/stages/${stage}/signoff`).set(s.as(login)).send(body);

  /** Built, in dev, then promoted to test; returns its digest. */
  async function inTest(v: string): Promise<string> {
    const digest = await s.pushAndBuild({ Dockerfile: SCRATCH_DOCKERFILE, 'app/v': v }, 'admin');
    await s.promote('dave', digest, 'test').expect(201);
    return digest;
  }

  beforeAll(async () => {
    t = await startApp();
    s = new Scenario(t);
    await s.user('admin', 'admin', ['admin']);
    await s.user('dave', 'developer', ['read', 'promote']);
    await s.user('tess', 'developer', ['read', 'promote']);
    await s.user('vic', 'viewer', ['read']);
    await s.user('val', 'developer', ['read', 'promote']);
    await s.register('admin');
    // What leaves test for prod must have been signed off by tess.
    await request(t.url)
      .put(`/api/v1/projects/${s.slug}/policy`)
      .set(s.as('admin'))
      .send({
        stages: [
          { name: 'dev', auto: true },
          { name: 'test' },
          { name: 'prod', separationOfDuties: false, signoff: { users: ['tess'] } },
        ],
        comment: 'manual testing before prod',
      })
      .expect(200);
  });

  afterAll(async () => {
    await t?.close();
    s?.remove();
  });

  it('required: prod waits for the sign-off, and a "passes" lets it through', async () => {
    const digest = await inTest('1');
    const asked = await s.promote('dave', digest, 'prod').expect(202);
    expect(asked.body.waitingFor).toMatch(
      /needs a sign-off \("tested: passes"\) of sha256:[0-9a-f]{12} in test by tess/,
    );
    expect(await s.stages('admin')).toMatchObject({ test: digest, prod: null });

    // Only a tester the rule names may sign off; the refusal is audited.
    const refused = await signOff('val', 'test', { result: 'passes' }).expect(403);
    expect(refused.body.message).toMatch(/val may not sign off here \(testers: tess\)/);

    const signed = await signOff('tess', 'test', { result: 'passes', comment: 'checked the checkout', digest }).expect(
      201,
    );
    expect(signed.body).toMatchObject({
      stage: 'test',
      digest,
      result: 'passes',
      by: 'tess',
      comment: 'checked the checkout',
    });
    const settled = await s.settled(asked.body.id, 'admin');
    expect(settled.status).toBe('promoted');
    expect(await s.stages('admin')).toMatchObject({ prod: digest });

    const overview = await request(t.url).get(`/api/v1/projects/${s.slug}/environments`).set(s.as('dave')).expect(200);
    expect(overview.body.find((x: { stage: string }) => x.stage === 'test').signoffs).toEqual([
      { by: 'tess', result: 'passes', comment: 'checked the checkout', at: expect.any(String) },
    ]);
    const audit = await request(t.url).get(`/api/v1/audit?project=${s.slug}`).set(s.as('admin')).expect(200);
    expect(audit.body).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'stage.signed_off', actor: 'tess', subject: `${s.slug}@test` }),
        expect.objectContaining({ action: 'signoff.refused', actor: 'val' }),
      ]),
    );
  });

  it('"fails" keeps that digest from going further, with the reason given', async () => {
    const digest = await inTest('2');
    await signOff('tess', 'test', { result: 'fails', comment: 'checkout button does nothing' }).expect(201);
    const asked = await s.promote('dave', digest, 'prod');
    const settled = asked.status === 202 ? await s.settled(asked.body.id, 'admin') : asked.body;
    expect(settled.status).toBe('blocked');
    expect(settled.reason ?? settled.waitingFor).toMatch(
      /tess signed off sha256:[0-9a-f]{12} in test as failing: checkout button does nothing/,
    );
    expect(await s.stages('admin')).toMatchObject({ test: digest });
    expect((await s.stages('admin')).prod).not.toBe(digest);
  });

  it('says what is wrong: a viewer, a stale digest, an unknown result', async () => {
    const digest = await inTest('3');
    await signOff('vic', 'test', { result: 'passes' }).expect(403);
    const stale = await signOff('tess', 'test', { result: 'passes', digest: `sha256:${'0'.repeat(64)}` }).expect(409);
    expect(stale.body.message).toMatch(/test now holds sha256:[0-9a-f]{12}, not sha256:000000000000/);
    await signOff('tess', 'test', { result: 'maybe' }).expect(400);
    expect(digest).toMatch(/^sha256:/);
  });
});
