import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { TestApp, deliver, eventually, pushPayload, sign, startApp } from './support/app';
import { SCRATCH_DOCKERFILE } from './support/git-repo';
import { Scenario } from './support/scenario';

jest.setTimeout(240_000);

const MB = 1024 * 1024;

/** Issue 8, finding 7: limits before work, and a hostile pipeline file fails its own build and nothing else. */
describe('limits before work', () => {
  let t: TestApp;
  let s: Scenario;

  beforeAll(async () => {
    t = await startApp();
    s = new Scenario(t);
    await s.user('root', 'admin', ['admin']);
    await s.register('root');
  });

  afterAll(async () => {
    s?.remove();
    await t?.close();
  });

  it('refuses a large body before authentication outside the webhook route, naming the limit', async () => {
    const big = JSON.stringify({ name: 'x', scopes: ['read'], padding: 'x'.repeat(2 * MB) });
    const res = await request(t.url).post('/api/v1/tokens').set('Content-Type', 'application/json').send(big);
    expect(res.status).toBe(413);
    expect(res.body.message).toMatch(/the body is 2097\d{3} bytes; this route takes at most 1048576/);
    // A body under the limit still reaches authentication.
    await request(t.url)
      .post('/api/v1/tokens')
      .send({ name: 'x', scopes: ['read'] })
      .expect(401);
  });

  it('takes a large delivery on the webhook route when it is signed', async () => {
    const delivery = JSON.stringify({ ...pushPayload(s.owner, s.name, 'c'.repeat(40)), padding: 'x'.repeat(2 * MB) });
    await deliver(t.url, null, { raw: delivery }).expect(202);
  });

  it('refuses a large unsigned delivery before parsing it', async () => {
    const res = await request(t.url)
      .post('/webhooks/github')
      .set('Content-Type', 'application/json')
      .set('X-GitHub-Event', 'push')
      .set('X-GitHub-Delivery', randomUUID())
      .send(`{"padding": "${'x'.repeat(2 * MB)}`);
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('X-Hub-Signature-256 is missing');
  });

  it('checks the signature on the raw bytes before parsing them', async () => {
    const raw = '{"ref": "refs/heads/main", oops';
    const forged = await request(t.url)
      .post('/webhooks/github')
      .set('Content-Type', 'application/json')
      .set('X-GitHub-Event', 'push')
      .set('X-GitHub-Delivery', randomUUID())
      .set('X-Hub-Signature-256', sign(raw, 'not-the-secret'))
      .send(raw)
      .expect(401);
    expect(forged.body.message).toBe('X-Hub-Signature-256 does not match');
    const signed = await deliver(t.url, null, { raw }).expect(400);
    expect(signed.body.message).toBe('the body is not valid JSON');
  });

  it("checks a project's own secret on the raw bytes too, and only for that project's deliveries", async () => {
    const secret = 'limits-own-secret-0123456789';
    const own = `${s.owner}o`;
    await request(t.url)
      .post('/api/v1/projects')
      .set(s.as('root'))
      .send({ owner: own, name: 'web', cloneUrl: s.repo.cloneUrl, webhookSecret: secret })
      .expect(201);
    const big = (owner: string) =>
      JSON.stringify({ ...pushPayload(owner, 'web', 'd'.repeat(40)), padding: 'x'.repeat(2 * MB) });
    await deliver(t.url, null, { raw: big(own) }).expect(401);
    await deliver(t.url, null, { raw: big(own), secret }).expect(202);
    // The project's secret vouches for its own repository only, whichever names the body carries.
    const other = JSON.stringify({
      ...pushPayload(s.owner, s.name, 'e'.repeat(40)),
      note: { full_name: `${own}/web` },
    });
    const refused = await deliver(t.url, null, { raw: other, secret }).expect(401);
    expect(refused.body.message).toBe('X-Hub-Signature-256 does not match');
  });

  const buildOf = async (sha: string) => {
    const res = await deliver(t.url, pushPayload(s.owner, s.name, sha)).expect(202);
    return eventually(
      async () => {
        const b = (await request(t.url).get(`/api/v1/builds/${res.body.buildId}`).set(s.as('root'))).body;
        return !['queued', 'running'].includes(b.status) && b;
      },
      120_000,
      'the build',
    );
  };
  const files = { Dockerfile: SCRATCH_DOCKERFILE, 'app/v': '1' };

  it('fails the builds of a 200 KB pipeline file of nested brackets, twice, and the app goes on', async () => {
    const hostile = `image: ${s.image}\ntest: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    // The second parse of this file used to abort the whole process.
    const failed = [];
    for (const message of ['hostile', 'hostile again']) {
      failed.push(await buildOf(s.repo.commit({ ...files, '.dockyard.yml': hostile }, message)));
    }
    await request(t.url).get('/healthz').expect(200);
    expect(await s.pushAndBuild({ ...files, '.dockyard.yml': `image: ${s.image}\n` }, 'root')).toMatch(/^sha256:/);
    for (const build of failed) {
      expect(build.status).toBe('failed');
      expect(build.reason).toMatch(
        /\.dockyard\.yml is invalid: the file is 2000\d\d bytes; the most Dockyard reads is 32768/,
      );
    }
  });

  it('fails the build of a small file nested too deep, naming the depth', async () => {
    const deep = `image: ${s.image}\ntest: ${'['.repeat(15_000)}${']'.repeat(15_000)}\n`;
    const failed = await buildOf(s.repo.commit({ ...files, '.dockyard.yml': deep }, 'deep'));
    expect(failed.status).toBe('failed');
    expect(failed.reason).toMatch(/line 2: brackets nested more than 64 deep/);
  });
});
