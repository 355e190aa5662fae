import request from 'supertest';
import { AccessTokens } from '@dockyard/pipeline';
import { TestApp, startApp } from './support/app';
import { Scenario } from './support/scenario';

jest.setTimeout(120_000);

const PASSWORD = 'a long enough password';

/** A form POST as a page of `origin` sends it (the dashboard's own pages by default). */
const form = (t: TestApp, path: string, origin: string | null = t.url) => {
  const req = request(t.url).post(path).type('form');
  return origin === null ? req : req.set('Origin', origin);
};
const logIn = (t: TestApp, login: string, password = PASSWORD) => form(t, '/login').send({ login, password });
const loggedIn = (res: request.Response) => res.status === 303 && res.headers.location === '/';
const cookieOf = async (t: TestApp, login: string) => {
  const res = await logIn(t, login).expect(303);
  expect(res.headers.location).toBe('/');
  return res.headers['set-cookie'] as unknown as string[];
};

/** Issue 8, finding 9: log-in, sessions and the dashboard's forms, over HTTP as a browser sends them. */
describe('dashboard sessions', () => {
  let t: TestApp;
  let s: Scenario;

  beforeAll(async () => {
    // One address sends every request of this suite: its own limit is tested below, on its own app.
    t = await startApp({ LOGIN_ATTEMPTS_PER_ADDRESS: '1000' });
    s = new Scenario(t);
    await s.user('root', 'admin', ['admin'], PASSWORD);
    await s.register('root');
    const tokens = t.app.get(AccessTokens);
    for (const login of ['alice', 'bob', 'tim']) await tokens.createUser(login, 'approver', { password: PASSWORD });
  });

  afterAll(async () => {
    s?.remove();
    await t?.close();
  });

  it('stops guessing one login after 10 tries, even when the next try has the right password', async () => {
    for (let i = 0; i < 10; i++) expect(loggedIn(await logIn(t, 'alice', `wrong password ${i}`))).toBe(false);
    const right = await logIn(t, 'alice');
    expect(right.status).toBe(429);
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    expect(right.body.message).toMatch(/too many log-in attempts for this login; try again in \d+ s/);
    expect(right.headers['set-cookie']).toBeUndefined();
    // Another login from the same address is not held back by it.
    expect(loggedIn(await logIn(t, 'bob'))).toBe(true);
  });

  it('takes as long to refuse an unknown login as a known one with a wrong password', async () => {
    const time = async (login: string) => {
      const started = process.hrtime.bigint();
      expect(loggedIn(await logIn(t, login, 'not the password at all'))).toBe(false);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time('tim'));
      unknown.push(await time(`nobody${i}`));
    }
    // Both pay for a full scrypt; without the dummy hash an unknown login answered about 20× faster.
    expect(median(unknown)).toBeGreaterThan(median(known) / 3);
  });

  it('ends the session on the server at log-out: the old cookie no longer works', async () => {
    const cookie = await cookieOf(t, 'bob');
    const other = await cookieOf(t, 'bob');
    await request(t.url).get('/').set('Cookie', cookie).expect(200);
    await form(t, '/logout').set('Cookie', cookie).expect(303);
    for (const c of [cookie, other]) {
      const after = await request(t.url).get('/').set('Cookie', c).expect(303);
      expect(after.headers.location).toBe('/login');
    }
    // A new log-in works again.
    await request(t.url)
      .get('/')
      .set('Cookie', await cookieOf(t, 'bob'))
      .expect(200);
  });

  it('refuses a form sent from another site, or without an Origin, and carries out none of it', async () => {
    const cookie = await cookieOf(t, 'root');
    const promotion = { project: s.slug, digest: `sha256:${'0'.repeat(64)}`, to: 'prod' };
    const forged = await form(t, '/dashboard/promotions', 'https://evil.example')
      .set('Cookie', cookie)
      .send(promotion)
      .expect(403);
    expect(forged.body.message).toBe(
      "a form sent from https://evil.example is refused: only Dockyard's own pages may send it",
    );
    const bare = await form(t, '/dashboard/promotions', null).set('Cookie', cookie).send(promotion).expect(403);
    expect(bare.body.message).toBe('a form without an Origin is refused');
    // The session's own API calls are held to the same rule; a token's are not (no browser sends those).
    await request(t.url)
      .post('/api/v1/promotions')
      .set('Cookie', cookie)
      .set('Origin', 'https://evil.example')
      .send(promotion)
      .expect(403);
    expect(await t.prisma.promotion.count()).toBe(0);
    await form(t, '/logout', 'https://evil.example').set('Cookie', cookie).expect(403);
    await request(t.url).get('/').set('Cookie', cookie).expect(200);
    // Logging someone in from another site is refused too.
    await form(t, '/login', 'https://evil.example').send({ login: 'tim', password: PASSWORD }).expect(403);
    // The dashboard's own page may send it.
    const own = await form(t, '/dashboard/promotions').set('Cookie', cookie).send(promotion).expect(303);
    expect(own.headers.location).toMatch(/\?error=/);
  });

  it('sends security headers: no framing, and a Content-Security-Policy on the dashboard', async () => {
    const res = await request(t.url).get('/login').expect(200);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['content-security-policy']).toContain("form-action 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('same-origin');
    const api = await request(t.url).get('/healthz').expect(200);
    expect(api.headers['x-frame-options']).toBe('DENY');
  });
});

/** A Dockyard of its own with `env`, and "pat" (a viewer with a password) in it. */
function appWith(env: Record<string, string>): { t: TestApp } {
  const box = {} as { t: TestApp };
  beforeAll(async () => {
    box.t = await startApp(env);
    await box.t.app.get(AccessTokens).createUser('pat', 'viewer', { password: PASSWORD });
  });
  afterAll(async () => {
    await box.t?.close();
  });
  return box;
}

describe('log-in attempts per address', () => {
  const app = appWith({ LOGIN_ATTEMPTS_PER_ADDRESS: '5' });

  it('stops one address trying many logins', async () => {
    const { t } = app;
    for (let i = 0; i < 5; i++) expect(loggedIn(await logIn(t, `someone${i}`, 'wrong password'))).toBe(false);
    const next = await logIn(t, 'pat');
    expect(next.status).toBe(429);
    expect(next.body.message).toMatch(/too many log-in attempts from this address; try again in \d+ s/);
    expect(Number(next.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('dashboard sessions behind https', () => {
  const app = appWith({ PUBLIC_URL: 'https://dockyard.example' });

  it('marks the session cookie Secure when PUBLIC_URL is https', async () => {
    const res = await form(app.t, '/login', 'https://dockyard.example')
      .send({ login: 'pat', password: PASSWORD })
      .expect(303);
    expect(res.headers.location).toBe('/');
    expect(String(res.headers['set-cookie'])).toMatch(/; Secure/);
  });
});

describe('dashboard sessions behind a TLS proxy', () => {
  const app = appWith({ TRUST_PROXY: 'loopback' });

  it('marks the cookie Secure when a trusted proxy says the request came over https', async () => {
    const { t } = app;
    const plain = await logIn(t, 'pat').expect(303);
    expect(String(plain.headers['set-cookie'])).not.toMatch(/; Secure/);
    const proxied = await form(t, '/login', t.url.replace(/^http:/, 'https:'))
      .set('X-Forwarded-Proto', 'https')
      .send({ login: 'pat', password: PASSWORD })
      .expect(303);
    expect(String(proxied.headers['set-cookie'])).toMatch(/; Secure/);
  });
});
