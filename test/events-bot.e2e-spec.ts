import request from 'supertest';
import { verifySignature } from '@dockyard/events';
import { TestApp, eventually, startApp } from './support/app';
import { FakeChat } from './support/fake-chat';
import { SCRATCH_DOCKERFILE } from './support/git-repo';
import { Scenario } from './support/scenario';
import { SseClient } from './support/sse';

jest.setTimeout(240_000);

const PASSWORD = 'a long enough password';

type Event = { id: string; type: string; stage: string | null; digest: string | null; data: Record<string, unknown> };

/** A push goes through the pipeline; a chat channel hears it, and a bot approves from the stream. */
describe('events from the pipeline: a chat channel and a bot (real services)', () => {
  let t: TestApp;
  let s: Scenario;
  const chat = new FakeChat();

  beforeAll(async () => {
    t = await startApp();
    s = new Scenario(t);
    await s.user('admin', 'admin', ['admin'], PASSWORD);
    await s.user('alice', 'approver', ['read', 'promote', 'approve'], PASSWORD);
    await s.user('approver-bot', 'approver', ['read', 'approve']);
    await s.register('admin');
    await chat.start();
  });

  afterAll(async () => {
    await chat.stop();
    await t?.close();
    s?.remove();
  });

  it('tells a chat channel and a bot; the bot approves the waiting promotion from the event it received', async () => {
    const hook = await request(t.url)
      .post(`/api/v1/projects/${s.slug}/hooks`)
      .set(s.as('admin'))
      .send({ url: chat.url, format: 'slack', events: ['promotion.waiting', 'promotion.promoted'] })
      .expect(201);
    const bot = await new SseClient(`${t.url}/api/v1/events?project=${s.slug}&follow=1`, s.as('approver-bot')).open();
    const event = async (match: (e: Event) => boolean) =>
      JSON.parse((await bot.next((m) => match(JSON.parse(m.data) as Event), 120_000)).data) as Event;

    // The project's gates are Dockyard's: dev takes passed builds, prod needs one approval.
    await request(t.url)
      .put(`/api/v1/projects/${s.slug}/policy`)
      .set(s.as('admin'))
      .send({
        stages: [
          { name: 'dev', auto: true },
          { name: 'prod', approvals: 1 },
        ],
      })
      .expect(200);
    const digest = await s.pushAndBuild({ Dockerfile: SCRATCH_DOCKERFILE, 'app/v': '1' }, 'admin');
    const passed = await event((e) => e.type === 'build.passed');
    expect(passed.digest).toBe(digest);
    expect(bot.messages.map((m) => m.event).slice(0, 2)).toEqual(['build.started', 'build.passed']);

    const asked = await s.promote('alice', digest, 'prod').expect(202);
    const waiting = await event((e) => e.type === 'promotion.waiting');
    expect(waiting).toMatchObject({
      stage: 'prod',
      digest,
      data: { promotionId: asked.body.id, for: 'approval', approvals: { needed: 1, given: 0 } },
    });
    // Alice asked, so separation of duties keeps her out; the bot and the admin may.
    expect(waiting.data.mayApprove).toEqual(expect.arrayContaining(['approver-bot', 'admin']));
    expect(waiting.data.mayApprove).not.toContain('alice');

    // "Waiting for me" in the dashboard: the admin sees it, Alice (who asked) does not.
    const waitingFor = async (login: string) => {
      const agent = request.agent(t.url);
      await agent.post('/login').set('Origin', t.url).type('form').send({ login, password: PASSWORD }).expect(303);
      return (await agent.get('/waiting').expect(200)).text;
    };
    expect(await waitingFor('admin')).toContain(`data-promotion="${asked.body.id}"`);
    expect(await waitingFor('alice')).toContain('Nothing waits for you.');

    // The bot acts on what it heard, through the REST API with its own token.
    const approved = await request(t.url)
      .post(`/api/v1/promotions/${waiting.data.promotionId as string}/approve`)
      .set(s.as('approver-bot'))
      .send({ comment: 'approved from the event stream' })
      .expect(201);
    expect(approved.body.status).toBe('promoted');
    await event((e) => e.type === 'promotion.promoted' && e.stage === 'prod');
    await bot.close();
    expect(await s.stages('admin')).toMatchObject({ dev: digest, prod: digest });

    // The chat channel heard the same, signed, with Approve / Reject links into the dashboard.
    const texts = await eventually(
      async () => {
        const m = chat.events<{ text: string; blocks: { type: string; elements?: { url: string }[] }[] }>();
        return m.some((x) => x.text.startsWith(`${s.slug}: prod now runs`)) && m;
      },
      30_000,
      'chat messages',
    );
    for (const r of chat.received)
      expect(verifySignature(r.body, hook.body.secret, r.headers['x-dockyard-signature-256'] as string)).toBe(true);
    const waits = texts.filter((m) => m.text.includes('waits:'));
    expect(waits).toHaveLength(1);
    expect(waits[0].text).toMatch(/: promotion to prod .* waits: needs 1 more approval\(s\) for prod — may approve: /);
    expect(texts.indexOf(waits[0])).toBeLessThan(texts.findIndex((m) => m.text.startsWith(`${s.slug}: prod now runs`)));
    const buttons = waits[0].blocks.find((b) => b.type === 'actions')!.elements!.map((e) => e.url);
    expect(buttons[0]).toContain(`/projects/${s.slug}?promotion=${asked.body.id}#promotion-${asked.body.id}`);
  });
});
