import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { EventPublisher, PublishEvent, verifySignature } from '@dockyard/events';
import { TestApp, eventually, registerProject, startApp } from './support/app';
import { FakeChat } from './support/fake-chat';
import { SseClient } from './support/sse';

jest.setTimeout(120_000);

/**
 * Events out of Dockyard: outgoing webhooks (signed, in order, retried, disabled when they keep
 * failing) and the event stream bots follow (resumable across an api restart). Events here are
 * published through the same EventPublisher the pipeline's emit points call.
 */
describe('events: outgoing webhooks and the event stream (real services)', () => {
  let t: TestApp;
  let admin: string;
  let reader: string;
  const chats: FakeChat[] = [];

  beforeAll(async () => {
    t = await startApp();
    admin = await t.token(['admin']);
    reader = await t.token(['read']);
  });

  afterAll(async () => {
    await Promise.all(chats.map((c) => c.stop()));
    await t?.close();
  });

  async function project() {
    const owner = `e${randomBytes(4).toString('hex')}`;
    await registerProject(t.url, admin, owner, 'web', 'https://git.example.invalid/never-fetched/web.git');
    const row = await t.prisma.project.findUniqueOrThrow({ where: { owner_name: { owner, name: 'web' } } });
    return { id: row.id, owner, name: 'web', slug: `${owner}/web` };
  }

  async function chat(status = 200) {
    const c = await new FakeChat().start();
    c.status = status;
    chats.push(c);
    return c;
  }

  function publish(p: { id: string; owner: string; name: string }, n: number, extra: Partial<PublishEvent> = {}) {
    return t.app.get(EventPublisher).publish({
      type: 'build.passed',
      project: p,
      stage: 'dev',
      digest: `sha256:${n.toString(16).padStart(64, '0')}`,
      commit: 'c'.repeat(40),
      actor: 'alice',
      subject: `build-${n}`,
      data: { buildId: `build-${n}`, ref: 'refs/heads/main', branch: 'main', durationMs: n },
      ...extra,
    } as PublishEvent);
  }

  const hooks = (slug: string) => `/api/v1/projects/${slug}/hooks`;
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('sends signed events in order to a subscribed chat endpoint, and logs each delivery', async () => {
    const p = await project();
    const c = await chat();
    const made = await request(t.url)
      .post(hooks(p.slug))
      .set(as(admin))
      .send({ url: c.url, events: ['build.passed'] })
      .expect(201);
    expect(made.body).toMatchObject({ url: c.url, events: ['build.passed'], format: 'json', active: true });
    const secret = made.body.secret as string;
    expect(secret).toMatch(/^dkh_/);
    // Shown once: never again.
    const listed = await request(t.url).get(hooks(p.slug)).set(as(admin)).expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(secret);

    for (let n = 1; n <= 5; n++) await publish(p, n);
    // Not subscribed: never sent.
    await publish(p, 6, { type: 'build.started', data: { buildId: 'b6', ref: 'refs/heads/main', branch: 'main' } });
    await eventually(async () => c.received.length >= 5, 30_000, 'five deliveries');

    const events = c.events<{
      id: string;
      type: string;
      data: { durationMs: number };
      project: string;
      link: string;
    }>();
    expect(events.map((e) => e.data.durationMs)).toEqual([1, 2, 3, 4, 5]);
    expect(events.every((e) => e.type === 'build.passed' && e.project === p.slug)).toBe(true);
    expect(events[0].link).toMatch(/\/builds\/build-1$/);
    for (const r of c.received) {
      expect(verifySignature(r.body, secret, r.headers['x-dockyard-signature-256'] as string)).toBe(true);
      expect(r.headers['x-dockyard-event']).toBe('build.passed');
      expect(r.headers['x-dockyard-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    }

    const log = await request(t.url)
      .get(`${hooks(p.slug)}/${made.body.id}/deliveries`)
      .set(as(admin))
      .expect(200);
    expect(log.body).toHaveLength(5);
    expect(log.body[0]).toMatchObject({ status: 'delivered', statusCode: 200, attempts: 1, response: 'ok' });
    expect(typeof log.body[0].durationMs).toBe('number');
  });

  it('retries while the endpoint is down, then delivers every event once and in order', async () => {
    const p = await project();
    const c = await chat();
    const { body: hook } = await request(t.url).post(hooks(p.slug)).set(as(admin)).send({ url: c.url }).expect(201);
    await c.stop();

    for (let n = 1; n <= 3; n++) await publish(p, n);
    const failing = await eventually(
      async () => {
        const log = (
          await request(t.url)
            .get(`${hooks(p.slug)}/${hook.id}/deliveries`)
            .set(as(admin))
        ).body;
        return log.find((d: { attempts: number; status: string }) => d.attempts >= 1 && d.status === 'pending') as
          { error: string } | undefined;
      },
      30_000,
      'a failed attempt',
    );
    expect(failing.error).toBe('ECONNREFUSED');

    await c.start();
    await eventually(async () => c.received.length >= 3, 60_000, 'three deliveries after the outage');
    // One more event after the outage: it queues behind the three, and nothing comes twice.
    await publish(p, 4);
    await eventually(async () => c.received.length >= 4, 30_000, 'the fourth delivery');
    const ids = c.received.map((r) => r.headers['x-dockyard-delivery']);
    expect(new Set(ids).size).toBe(4);
    expect(c.events<{ data: { durationMs: number } }>().map((e) => e.data.durationMs)).toEqual([1, 2, 3, 4]);
    const log = (
      await request(t.url)
        .get(`${hooks(p.slug)}/${hook.id}/deliveries`)
        .set(as(admin))
    ).body as {
      status: string;
      attempts: number;
    }[];
    expect(log.every((d) => d.status === 'delivered')).toBe(true);
    expect(Math.max(...log.map((d) => d.attempts))).toBeGreaterThan(1);
  });

  it('disables an endpoint that keeps refusing, says why, and takes it back when enabled; redelivers on request', async () => {
    const p = await project();
    const c = await chat(410);
    const { body: hook } = await request(t.url).post(hooks(p.slug)).set(as(admin)).send({ url: c.url }).expect(201);
    for (let n = 1; n <= 6; n++) await publish(p, n);
    const disabled = await eventually(
      async () => {
        const h = (
          await request(t.url)
            .get(`${hooks(p.slug)}/${hook.id}`)
            .set(as(admin))
        ).body;
        return !h.active && h;
      },
      60_000,
      'the hook disabled',
    );
    expect(disabled.disabledReason).toBe('disabled after 5 failed deliveries in a row; the last: HTTP 410');
    const log = (
      await request(t.url)
        .get(`${hooks(p.slug)}/${hook.id}/deliveries`)
        .set(as(admin))
    ).body as {
      id: string;
      status: string;
      statusCode: number | null;
      response: string | null;
    }[];
    expect(log.every((d) => d.status === 'failed')).toBe(true);
    expect(log.filter((d) => d.statusCode === 410)).toHaveLength(5);
    expect(log.find((d) => d.statusCode === 410)?.response).toBe('no_service');

    // The receiver is fixed; the admin turns the hook back on and redelivers the first event.
    c.status = 200;
    const refused = await request(t.url)
      .post(`${hooks(p.slug)}/${hook.id}/deliveries/${log.at(-1)!.id}/redeliver`)
      .set(as(admin))
      .expect(400);
    expect(refused.body.message).toMatch(/the hook is disabled .*enable it first/);
    await request(t.url)
      .post(`${hooks(p.slug)}/${hook.id}/enable`)
      .set(as(admin))
      .expect(200);
    const again = await request(t.url)
      .post(`${hooks(p.slug)}/${hook.id}/deliveries/${log.at(-1)!.id}/redeliver`)
      .set(as(admin))
      .expect(202);
    expect(again.body).toMatchObject({ status: 'pending', redeliveryOf: log.at(-1)!.id });
    await eventually(async () => c.received.length === 1, 30_000, 'the redelivery');
    expect(c.events<{ data: { durationMs: number } }>()[0].data.durationMs).toBe(1);
    await publish(p, 7);
    await eventually(async () => c.received.length === 2, 30_000, 'a new event after re-enabling');
  });

  it('posts text and blocks to a Slack-style incoming webhook', async () => {
    const p = await project();
    const c = await chat();
    await request(t.url).post(hooks(p.slug)).set(as(admin)).send({ url: c.url, format: 'slack' }).expect(201);
    await publish(p, 1, {
      type: 'build.failed',
      data: { buildId: 'b1', ref: 'refs/heads/main', branch: 'main', status: 'failed', reason: 'test unit exited 1' },
    });
    await eventually(async () => c.received.length >= 1, 30_000, 'the Slack message');
    const msg = c.events<{ text: string; blocks: { type: string }[] }>()[0];
    expect(msg.text).toBe(`${p.slug}: build of main (${'0'.repeat(12)}, commit ccccccc) failed: test unit exited 1`);
    expect(msg.blocks.map((b) => b.type)).toEqual(['section', 'context', 'actions']);
  });

  it('refuses hooks admins did not ask for clearly', async () => {
    const p = await project();
    const bad = await request(t.url)
      .post(hooks(p.slug))
      .set(as(admin))
      .send({ url: 'ftp://x', events: ['nope'] });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('a hook URL must be http(s)');
    const unknown = await request(t.url)
      .post(hooks(p.slug))
      .set(as(admin))
      .send({ url: 'http://127.0.0.1:9/x', events: ['build.exploded'] });
    expect(unknown.body.message).toMatch(/^unknown event\(s\): build.exploded/);
    await request(t.url).post(hooks(p.slug)).set(as(reader)).send({ url: 'http://127.0.0.1:9/x' }).expect(403);
  });

  it('streams events to a bot and resumes with Last-Event-ID across an api restart, losing none', async () => {
    const p = await project();
    // "The api": a second Dockyard on the same database, restarted while events keep happening.
    let api = await startApp({ DATABASE_URL: t.config.databaseUrl });
    try {
      const auth = as(reader);
      const url = () => `${api.url}/api/v1/events?project=${p.slug}&follow=1`;
      const bot = await new SseClient(url(), auth).open();
      await publish(p, 1);
      await publish(p, 2);
      await bot.next((m) => JSON.parse(m.data).data.durationMs === 2);
      const last = bot.messages.at(-1)!.id!;

      await api.close();
      await bot.ended();
      for (let n = 3; n <= 5; n++) await publish(p, n);
      api = await startApp({ DATABASE_URL: t.config.databaseUrl });

      const resumed = await new SseClient(url(), { ...auth, 'Last-Event-ID': last }).open();
      await publish(p, 6);
      await resumed.next((m) => JSON.parse(m.data).data.durationMs === 6);
      await resumed.close();
      const seen = [...bot.messages, ...resumed.messages].map(
        (m) => JSON.parse(m.data) as { id: string; data: { durationMs: number } },
      );
      expect(seen.map((e) => e.data.durationMs)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(resumed.messages.map((m) => m.event)).toEqual(Array(4).fill('build.passed'));
      const ids = seen.map((e) => Number(e.id));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));

      // Without follow: a page of history; without the read scope, nothing.
      const page = await request(api.url).get(`/api/v1/events?project=${p.slug}&after=${last}`).set(auth).expect(200);
      expect(page.body.map((e: { data: { durationMs: number } }) => e.data.durationMs)).toEqual([3, 4, 5, 6]);
      await request(api.url).get(`/api/v1/events?project=${p.slug}`).expect(401);
      const nobody = await api.token(['build'], `builder${randomBytes(3).toString('hex')}`);
      await request(api.url).get(`/api/v1/events?project=${p.slug}`).set(as(nobody)).expect(403);
      await request(api.url).get('/api/v1/events?project=nobody/none').set(auth).expect(404);
    } finally {
      await api.close();
    }
  });

  it('documents every event type as a JSON Schema in the OpenAPI document', async () => {
    const doc = (await request(t.url).get('/api/docs/openapi.json').expect(200)).body;
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['DockyardEvent', 'DockyardEvent_promotion_waiting', 'DockyardEvent_environment_drifted']),
    );
    expect(
      doc.paths['/api/v1/events'].get.responses['200'].content['application/json'].schema.items.oneOf,
    ).toHaveLength(15);
  });
});
