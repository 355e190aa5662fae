import request from 'supertest';
import { TestApp, eventually, startApp } from './support/app';
import { removeEnvironmentsOf, serviceFiles } from './support/environments';
import { freePort } from './support/net';
import { Scenario } from './support/scenario';

jest.setTimeout(300_000);

const SERVICE = (body: string) => serviceFiles(body);

/**
 * `npm run up` sets LOCAL_ENVIRONMENTS=true: a newcomer's first push runs somewhere they can open.
 * Every stage of a new project gets an environment on the local engine, at 127.0.0.1 on a port of
 * its own, the first time something enters it — no admin step in between.
 */
describe('local environments for a new project (npm run up)', () => {
  let t: TestApp;
  let s: Scenario;

  beforeAll(async () => {
    const base = await freePort();
    t = await startApp({ LOCAL_ENVIRONMENTS: 'true', LOCAL_ENVIRONMENT_PORT: String(base) });
    s = new Scenario(t);
    await s.user('admin', 'admin', ['admin']);
    await s.user('alice', 'developer', ['read', 'build', 'promote']);
    await s.register('admin');
  });

  afterAll(async () => {
    if (t) await removeEnvironmentsOf(t, s.owner, s.name);
    await t?.close();
    s?.remove();
  });

  async function urlOf(stage: string): Promise<string> {
    const envs = await request(t.url).get(`/api/v1/projects/${s.slug}/environments`).set(s.as('alice')).expect(200);
    const found = (envs.body as { stage: string; environment: { url: string } | null }[]).find(
      (e) => e.stage === stage,
    );
    return found!.environment!.url;
  }

  const open = async (url: string) => (await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text()).trim();

  it('runs the first push in dev at a local URL, and what is promoted to test at another', async () => {
    const v1 = await s.pushAndBuild(SERVICE('hello v1'), 'alice');
    expect(await s.stages('alice')).toMatchObject({ dev: v1 });
    const dev = await urlOf('dev');
    expect(dev).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await open(dev)).toBe('hello v1');

    const asked = await s.promote('alice', v1, 'test').expect(202);
    expect((await s.settled(asked.body.id, 'alice')).status).toBe('promoted');
    const test = await urlOf('test');
    expect(test).not.toBe(dev);
    expect(await open(test)).toBe('hello v1');

    // The next push replaces what dev runs; test keeps what was promoted to it.
    const v2 = await s.pushAndBuild(SERVICE('hello v2'), 'alice');
    expect(await s.stages('alice')).toMatchObject({ dev: v2, test: v1 });
    await eventually(async () => (await open(dev)) === 'hello v2', 10_000, 'dev serving v2');
    expect(await open(test)).toBe('hello v1');
  });
});
