import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { TestApp, deliver, registerProject, eventually, pushPayload, startApp } from './support/app';
import { freePort } from './support/net';
import { FakeGitHub } from './support/fake-github';
import { GitRepo, SCRATCH_DOCKERFILE } from './support/git-repo';

jest.setTimeout(180_000);

describe('webhook intake, build commands and live logs', () => {
  const github = new FakeGitHub();
  const repo = new GitRepo();
  const owner = `intake${randomBytes(3).toString('hex')}`;
  let redisPort: number;
  let redis: ChildProcess;
  let t: TestApp;
  let token: string;
  const startRedis = () =>
    spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', `/tmp`, '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );

  beforeAll(async () => {
    redisPort = await freePort();
    redis = startRedis();
    const githubUrl = await github.start();
    t = await startApp({
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      GITHUB_API_URL: githubUrl,
      GITHUB_TOKEN: 'ghs_test',
      WEBHOOK_MAX_BODY: '64kb',
    });
    token = await t.token(['admin']);
    repo.commit({
      Dockerfile: SCRATCH_DOCKERFILE,
      'app/x': 'x',
      '.dockyard.yml': `image: ${owner}/web\ntest:\n  - name: unit\n    run: echo unit-ok\n`,
    });
    await registerProject(t.url, token, owner, 'web', repo.cloneUrl);
  });

  afterAll(async () => {
    await t?.close();
    redis.kill('SIGKILL');
    await github.stop();
    repo.remove();
  });

  const send = (event: string, payload: unknown, raw?: string) => deliver(t.url, payload, { event, raw });

  const api = () => ({ auth: `Bearer ${token}` });
  const status = async (id: string) =>
    (await request(t.url).get(`/api/v1/builds/${id}`).set('Authorization', api().auth)).body;
  const finished = (id: string) =>
    eventually(
      async () => {
        const b = await status(id);
        return ['passed', 'failed', 'error', 'cancelled', 'superseded'].includes(b.status) && b;
      },
      120_000,
      `build ${id}`,
    );

  it('answers ping, and ignores tags, deletions and unknown repositories with a reason', async () => {
    expect(
      (await send('ping', { zen: 'Keep it simple', repository: { name: 'web', owner: { login: owner } } }).expect(200))
        .body,
    ).toEqual({ pong: true });
    const sha = 'c'.repeat(40);
    const tag = await send('push', { ...pushPayload(owner, 'web', sha), ref: 'refs/tags/v1' }).expect(202);
    expect(tag.body).toEqual({ ignored: true, reason: 'tag push (refs/tags/v1); tag builds are off' });
    const deleted = await send('push', { ...pushPayload(owner, 'web', '0'.repeat(40)), deleted: true }).expect(202);
    expect(deleted.body.reason).toBe('refs/heads/main was deleted');
    const unknown = await send('push', pushPayload('someone', 'else', sha)).expect(202);
    expect(unknown.body.reason).toBe('repository someone/else is not registered with Dockyard');
    const recorded = await t.prisma.webhookDelivery.findMany({ where: { outcome: 'ignored' } });
    expect(recorded.map((d) => d.reason)).toEqual(
      expect.arrayContaining([tag.body.reason, deleted.body.reason, unknown.body.reason]),
    );
  });

  it('refuses malformed JSON with 400 and a body over the limit with 413', async () => {
    const bad = await send('push', null, '{"ref": ').expect(400);
    expect(bad.body.message).toMatch(/JSON/);
    const big = JSON.stringify({ ...pushPayload(owner, 'web', 'd'.repeat(40)), padding: 'x'.repeat(100 * 1024) });
    const res = await send('push', null, big).expect(413);
    expect(res.body.message).toBe(`the body is ${Buffer.byteLength(big)} bytes; this route takes at most 65536 bytes`);
    expect(await t.prisma.build.count({ where: { sha: 'd'.repeat(40) } })).toBe(0);
  });

  it('keeps a build queued in Postgres while Redis is away, and runs it when Redis is back', async () => {
    const sha = repo.commit({ 'app/x': 'redis-away' });
    redis.kill('SIGKILL');
    await eventually(async () => (await request(t.url).get('/readyz')).status === 503, 10_000, 'redis down');
    const res = await send('push', pushPayload(owner, 'web', sha)).expect(202);
    expect((await t.prisma.build.findUniqueOrThrow({ where: { id: res.body.buildId } })).status).toBe('queued');
    redis = startRedis();
    const build = await finished(res.body.buildId);
    expect(build.status).toBe('passed');
  });

  it('retries commit statuses through a GitHub outage', async () => {
    github.failNext = 3;
    const sha = repo.commit({ 'app/x': 'outage' });
    const res = await send('push', pushPayload(owner, 'web', sha)).expect(202);
    expect((await finished(res.body.buildId)).status).toBe('passed');
    await eventually(
      async () => github.of(sha, 'dockyard/test').includes('success'),
      60_000,
      'status after the outage',
    );
    expect(github.failNext).toBe(0);
  });

  it('triggers by ref, cancels a running build and retries it as a new build', async () => {
    repo.commit({ '.dockyard.yml': `image: ${owner}/web\ntest:\n  - name: slow\n    run: sleep 30\n` }, 'slow', 'slow');
    const trig = await request(t.url)
      .post(`/api/v1/projects/${owner}/web/builds`)
      .set('Authorization', api().auth)
      .send({ ref: 'slow' })
      .expect(202);
    await eventually(
      async () =>
        (await t.prisma.testRun.findFirst({ where: { buildId: trig.body.buildId, status: 'running' } })) !== null,
      60_000,
      'test running',
    );
    const started = Date.now();
    await request(t.url)
      .post(`/api/v1/builds/${trig.body.buildId}/cancel`)
      .set('Authorization', api().auth)
      .expect(201);
    const cancelled = await finished(trig.body.buildId);
    expect(cancelled.status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(15_000);
    await request(t.url)
      .post(`/api/v1/builds/${trig.body.buildId}/cancel`)
      .set('Authorization', api().auth)
      .expect(409);

    const retry = await request(t.url)
      .post(`/api/v1/builds/${trig.body.buildId}/retry`)
      .set('Authorization', api().auth)
      .expect(201);
    expect(retry.body.retryOf).toBe(trig.body.buildId);
    const again = await status(retry.body.id);
    expect(again).toMatchObject({ sha: cancelled.sha, trigger: 'retry', retryOf: trig.body.buildId });
    await request(t.url).post(`/api/v1/builds/${retry.body.id}/cancel`).set('Authorization', api().auth).expect(201);
  });

  it('streams a build log live as Server-Sent Events until the build ends', async () => {
    const sha = repo.commit(
      { '.dockyard.yml': `image: ${owner}/web\ntest:\n  - name: unit\n    run: echo one; sleep 1; echo two\n` },
      'sse',
      'main',
    );
    const { buildId } = (await send('push', pushPayload(owner, 'web', sha)).expect(202)).body;
    const res = await fetch(`${t.url}/api/v1/builds/${buildId}/logs?follow=1`, {
      headers: { Authorization: api().auth },
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const text = await res.text();
    const events = text.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('event: end\ndata: {"status":"passed"}');
    const logText = events
      .filter((e) => e.includes('event: log'))
      .map((e) => JSON.parse(e.split('data: ')[1]).text)
      .join('');
    expect(logText).toMatch(/one\n[\s\S]*two\n/);
  });

  it('answers 401 without a token and 403 with a token that lacks the scope', async () => {
    await request(t.url).get('/api/v1/builds').expect(401);
    const reader = await t.token(['read']);
    const res = await request(t.url)
      .post(`/api/v1/projects/${owner}/web/builds`)
      .set('Authorization', `Bearer ${reader}`)
      .send({ ref: 'main' })
      .expect(403);
    expect(res.body.message).toBe('this token lacks the "build" scope (it has: read)');
    const list = await request(t.url)
      .get(`/api/v1/builds?project=${owner}/web&status=passed`)
      .set('Authorization', `Bearer ${reader}`)
      .expect(200);
    expect(list.body.items.length).toBeGreaterThan(0);
    expect(list.body.items.every((b: { status: string }) => b.status === 'passed')).toBe(true);
    await request(t.url).get('/api/v1/builds?status=bogus').set('Authorization', `Bearer ${reader}`).expect(400);
  });
});
