import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { AccessTokens } from '@dockyard/pipeline';
import { TestApp, deliver, pushPayload, startApp } from './support/app';

jest.setTimeout(120_000);

/** Issue 8, findings 6 and 11: which clone URLs Dockyard takes, who sees their credentials, and the audit. */
describe('clone URLs: checked at registration, credentials never shown', () => {
  const owner = `cu${randomBytes(3).toString('hex')}`;
  const scratch = mkdtempSync(path.join(tmpdir(), 'dockyard-clone-urls-'));
  let t: TestApp;
  let admin: string;
  let viewer: string;

  beforeAll(async () => {
    // As in production: no file:// URLs, and repositories may register themselves from a first push.
    t = await startApp({ GIT_ALLOW_FILE_URLS: 'false', WEBHOOK_AUTO_REGISTER: 'true' });
    admin = await t.token(['admin'], 'root');
    const tokens = t.app.get(AccessTokens);
    const v = await tokens.createUser('vera', 'viewer', { password: 'a long enough password' });
    viewer = (await tokens.issue(v, 'e2e', ['read'])).token;
  });

  afterAll(async () => {
    await t?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const register = (name: string, cloneUrl: string) =>
    request(t.url).post('/api/v1/projects').set('Authorization', `Bearer ${admin}`).send({ owner, name, cloneUrl });

  it('takes https://, ssh:// and git@host:path, and refuses options, other transports, paths and file://', async () => {
    await register('a', 'https://git.example.com/acme/a.git').expect(201);
    await register('b', 'ssh://git@git.example.com:2222/acme/b.git').expect(201);
    await register('c', 'git@git.example.com:acme/c.git').expect(201);
    const marker = path.join(scratch, 'ran');
    for (const url of [
      `--upload-pack=touch ${marker}`,
      'ext::sh -c touch% /tmp/pwned',
      'http://git.example.com/acme/d.git',
      '/var/lib/dockyard/git/other.git',
      `file://${scratch}`,
      'git@git.example.com:-oProxyCommand=x',
    ]) {
      const res = await register(`d${randomBytes(2).toString('hex')}`, url).expect(400);
      expect(res.body.message).toMatch(/^clone URL ".*" is refused: /);
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('does not auto-register a repository from a push whose clone_url git would read as an option', async () => {
    const marker = path.join(scratch, 'upload-pack-ran');
    const res = await deliver(
      t.url,
      pushPayload(owner, 'hostile', 'a'.repeat(40), 'main', `--upload-pack=touch ${marker}`),
    ).expect(202);
    expect(res.body).toMatchObject({ ignored: true, reason: expect.stringContaining('is refused') });
    expect(await t.prisma.project.count({ where: { owner, name: 'hostile' } })).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  it('shows clone URLs without credentials in the project list, the dashboard and the audit', async () => {
    await register('secret', 'https://deploy:s3cret-pass@git.example.com/acme/secret.git').expect(201);
    const list = await request(t.url).get('/api/v1/projects').set('Authorization', `Bearer ${viewer}`).expect(200);
    expect(list.body).toContainEqual(
      expect.objectContaining({ project: `${owner}/secret`, cloneUrl: 'https://git.example.com/acme/secret.git' }),
    );
    expect(JSON.stringify(list.body)).not.toContain('s3cret');

    const login = await request(t.url)
      .post('/login')
      .set('Origin', t.url)
      .type('form')
      .send({ login: 'vera', password: 'a long enough password' })
      .expect(303);
    const home = await request(t.url).get('/').set('Cookie', login.headers['set-cookie']).expect(200);
    expect(home.text).toContain('https://git.example.com/acme/secret.git');
    expect(home.text).not.toContain('s3cret');

    const audit = await request(t.url).get('/api/v1/audit?limit=500').set('Authorization', `Bearer ${admin}`);
    expect(JSON.stringify(audit.body)).not.toContain('s3cret');
  });

  it('audits every registration: by whom, through which channel, with the redacted URL', async () => {
    await register('audited', 'https://git.example.com/acme/audited.git').expect(201);
    const [event] = (
      await request(t.url).get(`/api/v1/audit?project=${owner}/audited`).set('Authorization', `Bearer ${admin}`)
    ).body;
    expect(event).toMatchObject({
      action: 'project.registered',
      actor: 'root',
      via: 'api',
      subject: `${owner}/audited`,
      detail: { cloneUrl: 'https://git.example.com/acme/audited.git' },
    });
  });
});
