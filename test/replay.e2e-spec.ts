import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { RegistryClient } from '@dockyard/registry';
import { TestApp, deliver, eventually, pushPayload, startApp } from './support/app';
import { SCRATCH_DOCKERFILE } from './support/git-repo';
import { Scenario } from './support/scenario';

jest.setTimeout(180_000);

/** Issue 8, findings 10 and 11: a replayed push builds nothing; a person's build is recorded as theirs. */
describe('replayed pushes and the channel of each build', () => {
  let t: TestApp;
  let s: Scenario;

  beforeAll(async () => {
    t = await startApp();
    s = new Scenario(t);
    await s.user('root', 'admin', ['admin']);
    await s.user('dana', 'developer', ['read', 'build', 'promote']);
    await s.register('root');
  });

  afterAll(async () => {
    s?.remove();
    await t?.close();
  });

  const build = async (id: string) =>
    eventually(
      async () => {
        const b = (await request(t.url).get(`/api/v1/builds/${id}`).set(s.as('root'))).body;
        return !['queued', 'running'].includes(b.status) && b;
      },
      120_000,
      `build ${id}`,
    );
  const audit = async () =>
    (await request(t.url).get(`/api/v1/audit?project=${s.slug}&limit=500`).set(s.as('root'))).body as {
      action: string;
      actor: string;
      via: string;
      subject: string;
      detail: Record<string, unknown>;
    }[];

  it('answers a re-signed old push with a new delivery id as a duplicate: no rebuild, dev keeps the newer commit', async () => {
    const files = { Dockerfile: SCRATCH_DOCKERFILE, '.dockyard.yml': `image: ${s.image}\n` };
    const oldSha = s.repo.commit({ ...files, 'app/v': 'old' });
    const oldBody = JSON.stringify(pushPayload(s.owner, s.name, oldSha));
    const first = await deliver(t.url, null, { raw: oldBody }).expect(202);
    expect((await build(first.body.buildId)).status).toBe('passed');
    const newer = await s.pushAndBuild({ 'app/v': 'new' }, 'root');
    expect((await s.stages('root')).dev).toBe(newer);

    const replay = await deliver(t.url, null, { raw: oldBody, deliveryId: randomUUID() }).expect(200);
    expect(replay.body).toMatchObject({
      duplicate: true,
      buildId: first.body.buildId,
      reason: expect.stringContaining('already has a build'),
    });
    expect(await t.prisma.build.count({ where: { sha: oldSha } })).toBe(1);
    expect((await s.stages('root')).dev).toBe(newer);
    expect(await t.app.get(RegistryClient).resolve(s.image, 'dev')).toBe(newer);
  });

  it('builds the same commit again when a person asks for a retry, recorded as theirs through the API', async () => {
    const sha = s.repo.commit({ 'app/v': 'retry-me' });
    const pushed = await deliver(t.url, pushPayload(s.owner, s.name, sha)).expect(202);
    await build(pushed.body.buildId);
    const retried = await request(t.url)
      .post(`/api/v1/builds/${pushed.body.buildId}/retry`)
      .set(s.as('dana'))
      .expect(201);
    expect(retried.body.id).not.toBe(pushed.body.buildId);
    expect((await build(retried.body.id)).status).toBe('passed');
    expect(await audit()).toContainEqual(
      expect.objectContaining({ action: 'build.retried', actor: 'dana', via: 'api', subject: retried.body.id }),
    );
  });

  it('records a manual build and its entry into dev through the API, not "via webhook"', async () => {
    const sha = s.repo.commit({ 'app/v': 'manual' });
    const res = await request(t.url)
      .post(`/api/v1/projects/${s.slug}/builds`)
      .set(s.as('dana'))
      .send({ sha })
      .expect(202);
    expect((await build(res.body.buildId)).status).toBe('passed');
    const events = await audit();
    expect(events).toContainEqual(
      expect.objectContaining({ action: 'build.requested', actor: 'dana', via: 'api', subject: res.body.buildId }),
    );
    const entered = events.find((e) => e.action === 'stage.entered' && e.detail.buildId === res.body.buildId);
    expect(entered).toMatchObject({ actor: 'dana', via: 'api' });
  });
});
