import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { EnvironmentValueStore, TargetKeyVault } from '@dockyard/secrets';
import { TestApp, registerProject, startApp } from './support/app';

jest.setTimeout(60_000);

const PEM = (what: string) => `-----BEGIN ${what}-----\n${randomBytes(48).toString('base64')}\n-----END ${what}-----\n`;

describe('environments, hosts and variables through the admin API (real Postgres)', () => {
  let t: TestApp;
  let admin: string;
  let reader: string;
  const owner = `e${randomBytes(4).toString('hex')}`;
  const base = `/api/v1/projects/${owner}/web/environments`;
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });

  beforeAll(async () => {
    t = await startApp({ SECRETS_KEY: randomBytes(32).toString('hex') });
    admin = await t.token(['admin'], 'root');
    reader = await t.token(['read', 'build', 'promote'], 'dev1');
    await registerProject(t.url, admin, owner, 'web', 'https://git.example.invalid/never-fetched/web.git');
  });

  afterAll(() => t?.close());

  it('sets up a stage with a socket host and a TLS host whose key is sealed and never shown', async () => {
    const env = await request(t.url)
      .put(`${base}/prod`)
      .set(as(admin))
      .send({ url: 'https://prod.example.com', replicas: 2, soak: '5s' })
      .expect(200);
    expect(env.body).toEqual({
      stage: 'prod',
      url: 'https://prod.example.com',
      replicas: 2,
      parallel: false,
      soakMs: 5000,
      hosts: [],
    });
    const local = await request(t.url)
      .post(`${base}/prod/hosts`)
      .set(as(admin))
      .send({ name: 'local', kind: 'socket', address: 'unix:///var/run/docker.sock' })
      .expect(201);
    expect(local.body).toMatchObject({ name: 'local', kind: 'socket', proxyPort: expect.any(Number), key: null });
    const key = PEM('PRIVATE KEY');
    const remote = await request(t.url)
      .post(`${base}/prod/hosts`)
      .set(as(admin))
      .send({
        name: 'web-2',
        kind: 'tls',
        address: 'tcp://127.0.0.1:23760',
        tlsCa: PEM('CERTIFICATE'),
        tlsCert: PEM('CERTIFICATE'),
        key,
        proxyPort: 18100,
      })
      .expect(201);
    expect(remote.body).toEqual({
      name: 'web-2',
      kind: 'tls',
      address: 'tcp://127.0.0.1:23760',
      proxyPort: 18100,
      proxyBind: '127.0.0.1',
      position: 1,
      tlsCa: true,
      tlsCert: true,
      key: 'sealed',
    });
    // The same name twice is a conflict; a TLS host without its key is refused with the reason.
    await request(t.url)
      .post(`${base}/prod/hosts`)
      .set(as(admin))
      .send({ name: 'local', kind: 'socket', address: 'unix:///var/run/docker.sock' })
      .expect(409);
    const noKey = await request(t.url)
      .post(`${base}/prod/hosts`)
      .set(as(admin))
      .send({ name: 'web-3', kind: 'tls', address: 'tcp://127.0.0.1:2376' })
      .expect(400);
    expect(noKey.body.message).toMatch(/needs tlsCa, tlsCert and key/);
    const badAddress = await request(t.url)
      .post(`${base}/prod/hosts`)
      .set(as(admin))
      .send({ name: 'web-4', kind: 'ssh', address: 'http://example.com', key })
      .expect(400);
    expect(badAddress.body.message).toMatch(/looks like ssh:\/\/deploy@10\.0\.0\.5:22/);

    // Stored sealed; only the code that connects opens it.
    const row = await t.prisma.target.findFirstOrThrow({
      where: { name: 'web-2', environment: { project: { owner } } },
    });
    expect(row.keyCipher).not.toContain(randomBytesOf(key));
    expect(await t.app.get(TargetKeyVault).open(row)).toBe(key);

    const overview = await request(t.url).get(base).set(as(reader)).expect(200);
    const audit = await request(t.url).get(`/api/v1/audit?project=${owner}/web`).set(as(admin)).expect(200);
    for (const text of [overview.text, audit.text, env.text, local.text, remote.text]) {
      expect(text).not.toContain(randomBytesOf(key));
    }
    expect(audit.body.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['environment.configured', 'environment.host_added']),
    );
    await request(t.url).delete(`${base}/prod/hosts/web-2`).set(as(admin)).expect(204);
    await request(t.url).delete(`${base}/prod/hosts/web-2`).set(as(admin)).expect(404);
  });

  it("gives the environment's containers its variables with its secrets over them, and shows names only", async () => {
    await request(t.url).put(`${base}/test`).set(as(admin)).send({ url: 'http://127.0.0.1:8101' }).expect(200);
    await request(t.url).put(`${base}/test/variables/LOG_LEVEL`).set(as(admin)).send({ value: 'debug' }).expect(200);
    await request(t.url).put(`${base}/test/variables/API_KEY`).set(as(admin)).send({ value: 'plain' }).expect(200);
    const secret = `s3cr3t-${randomBytes(8).toString('hex')}`;
    await request(t.url).put(`${base}/test/secrets/API_KEY`).set(as(admin)).send({ value: secret }).expect(200);

    const overview = await request(t.url).get(base).set(as(reader)).expect(200);
    const test = overview.body.find((s: { stage: string }) => s.stage === 'test');
    expect(test.environment).toMatchObject({
      url: 'http://127.0.0.1:8101',
      variables: [
        { name: 'API_KEY', value: 'plain' },
        { name: 'LOG_LEVEL', value: 'debug' },
      ],
      secrets: ['API_KEY'],
      hosts: [],
      deploying: null,
    });
    expect(overview.text).not.toContain(secret);

    const env = await t.prisma.environment.findFirstOrThrow({ where: { project: { owner }, stage: { name: 'test' } } });
    const values = await t.app.get(EnvironmentValueStore).resolve(env.id);
    expect(values.env).toEqual({ LOG_LEVEL: 'debug', API_KEY: secret });
    expect(values.fingerprint).toMatch(/^[0-9a-f]{32}$/);

    await request(t.url).delete(`${base}/test/variables/LOG_LEVEL`).set(as(admin)).expect(204);
    const changed = await t.app.get(EnvironmentValueStore).resolve(env.id);
    expect(changed.fingerprint).not.toBe(values.fingerprint);
    const bad = await request(t.url).put(`${base}/test/variables/9x`).set(as(admin)).send({ value: 'v' }).expect(400);
    expect(bad.body.message).toMatch(/not a variable name/);
  });

  it('only admins change environments; unknown ones are named in the 404', async () => {
    await request(t.url).put(`${base}/dev`).set(as(reader)).send({}).expect(403);
    const missing = await request(t.url)
      .put(`${base}/nowhere/variables/A`)
      .set(as(admin))
      .send({ value: 'x' })
      .expect(404);
    expect(missing.body.message).toMatch(/has no environment for stage nowhere/);
    await request(t.url).delete(`${base}/test`).set(as(admin)).expect(204);
    const overview = await request(t.url).get(base).set(as(reader)).expect(200);
    expect(overview.body.find((s: { stage: string }) => s.stage === 'test').environment).toBeNull();
  });
});

/** The random middle of a PEM: what must never show up anywhere. */
function randomBytesOf(pem: string): string {
  return pem.split('\n')[1];
}
