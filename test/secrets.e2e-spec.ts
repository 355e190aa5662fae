import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import request from 'supertest';
import { SecretsStore } from '@dockyard/secrets';
import { TestApp, eventually, registerProject, startApp } from './support/app';
import { freePort } from './support/net';

jest.setTimeout(120_000);

const root = path.resolve(__dirname, '..');

describe('secrets (real Postgres, the built app logging at trace level)', () => {
  const key = randomBytes(32).toString('base64');
  let t: TestApp;
  let app: ChildProcess;
  let url: string;
  let logs = '';
  let admin: string;
  const owner = `s${randomBytes(4).toString('hex')}`;
  const auth = () => ({ Authorization: `Bearer ${admin}` });

  beforeAll(async () => {
    t = await startApp({ SECRETS_KEY: key });
    admin = await t.token(['admin'], 'root');
    // The same database served by the built app in its own process, every log line captured.
    const port = await freePort();
    app = spawn(process.execPath, [path.join(root, 'dist/src/main.js')], {
      env: {
        ...process.env,
        DATABASE_URL: t.config.databaseUrl,
        QUEUE_PREFIX: `${t.config.queuePrefix}x`,
        PORT: String(port),
        LOG_LEVEL: 'trace',
        SECRETS_KEY: key,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    app.stdout!.on('data', (d) => (logs += d));
    app.stderr!.on('data', (d) => (logs += d));
    url = `http://127.0.0.1:${port}`;
    await eventually(async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, 60_000, 'ready');
    await registerProject(url, admin, owner, 'web', 'https://git.example.com/acme/web.git');
  });

  afterAll(async () => {
    app?.kill('SIGKILL');
    await t?.close();
  });

  it('are write-only: answers, the audit, the logs and the stored row never hold a value', async () => {
    const buildValue = `npm-${randomBytes(12).toString('hex')}`;
    const envValue = `pg-${randomBytes(12).toString('hex')}`;
    const envValue2 = `rotated-${randomBytes(12).toString('hex')}`;
    const answers: string[] = [];
    const keep = (res: request.Response) => (answers.push(res.text), res);

    const set = keep(
      await request(url)
        .put(`/api/v1/projects/${owner}/web/secrets/NPM_TOKEN`)
        .set(auth())
        .send({ value: buildValue })
        .expect(200),
    );
    expect(set.body).toEqual({ name: 'NPM_TOKEN', updatedAt: expect.any(String), updatedBy: 'root' });
    for (const value of [envValue, envValue2]) {
      keep(
        await request(url)
          .put(`/api/v1/projects/${owner}/web/environments/prod/secrets/DATABASE_PASSWORD`)
          .set(auth())
          .send({ value })
          .expect(200),
      );
    }
    const listed = keep(await request(url).get(`/api/v1/projects/${owner}/web/secrets`).set(auth()).expect(200));
    expect(listed.body).toEqual([{ name: 'NPM_TOKEN', updatedAt: expect.any(String), updatedBy: 'root' }]);
    const envListed = keep(
      await request(url).get(`/api/v1/projects/${owner}/web/environments/prod/secrets`).set(auth()).expect(200),
    );
    expect(envListed.body.map((s: { name: string }) => s.name)).toEqual(['DATABASE_PASSWORD']);
    // Scopes stay apart: the project's secret is not the environment's and the other way round.
    keep(await request(url).get(`/api/v1/projects/${owner}/web/environments/test/secrets`).set(auth()).expect(200));
    expect(answers.at(-1)).toBe('[]');

    const audit = keep(await request(url).get(`/api/v1/audit?project=${owner}/web`).set(auth()).expect(200));
    const actions = audit.body.map((e: { action: string; subject: string }) => [e.action, e.subject]);
    expect(actions).toEqual(
      expect.arrayContaining([
        ['secret.set', `${owner}/web:NPM_TOKEN`],
        ['secret.set', `${owner}/web@prod:DATABASE_PASSWORD`],
      ]),
    );
    keep(await request(url).get('/api/docs/openapi.json').expect(200));

    // The code that hands them to builds and containers reads them back; nobody else can.
    const project = await t.prisma.project.findFirstOrThrow({ where: { owner } });
    const store = t.app.get(SecretsStore);
    expect(await store.values(project.id)).toEqual({ NPM_TOKEN: buildValue });
    expect(await store.values(project.id, 'prod')).toEqual({ DATABASE_PASSWORD: envValue2 });

    // At rest: ciphertext only, and a row moved to another scope no longer decrypts.
    const rows = await t.prisma.secret.findMany({ where: { projectId: project.id } });
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const stored = JSON.stringify(row) + Buffer.from(row.ciphertext).toString('latin1');
      for (const value of [buildValue, envValue, envValue2]) expect(stored).not.toContain(value);
    }
    await t.prisma.secret.update({ where: { id: rows.find((r) => r.stage === 'prod')!.id }, data: { stage: 'test' } });
    await expect(store.values(project.id, 'test')).rejects.toThrow(/does not decrypt: its stored value was altered/);

    const deleted = await request(url).delete(`/api/v1/projects/${owner}/web/secrets/NPM_TOKEN`).set(auth());
    expect(deleted.status).toBe(204);
    keep(await request(url).delete(`/api/v1/projects/${owner}/web/secrets/NPM_TOKEN`).set(auth()).expect(404));
    const after = keep(await request(url).get(`/api/v1/audit?project=${owner}/web`).set(auth()).expect(200));
    expect(after.text).toContain('secret.deleted');

    const everything = answers.join('\n') + logs;
    // The request lines did reach the log (so the grep below looks at something real).
    expect(logs).toContain(`/api/v1/projects/${owner}/web/environments/prod/secrets/DATABASE_PASSWORD`);
    for (const value of [buildValue, envValue, envValue2]) expect(everything).not.toContain(value);
  });

  it('refuses bad names and values with the reason, and only admins may touch secrets', async () => {
    const bad = await request(url)
      .put(`/api/v1/projects/${owner}/web/secrets/1-bad name`)
      .set(auth())
      .send({ value: 'x' })
      .expect(400);
    expect(bad.body.message).toMatch(/must be letters, digits and _/);
    await request(url).put(`/api/v1/projects/${owner}/web/secrets/EMPTY`).set(auth()).send({ value: '' }).expect(400);
    await request(url).put(`/api/v1/projects/nobody/none/secrets/A`).set(auth()).send({ value: 'x' }).expect(404);
    const developer = await t.token(['read', 'build', 'promote'], 'dev1');
    await request(url)
      .get(`/api/v1/projects/${owner}/web/secrets`)
      .set({ Authorization: `Bearer ${developer}` })
      .expect(403);
  });

  it('without SECRETS_KEY: storing a secret says what to set, and nothing is stored', async () => {
    const bare = await startApp({ SECRETS_KEY: '' });
    try {
      const token = await bare.token(['admin'], 'root');
      await registerProject(bare.url, token, owner, 'web', 'https://git.example.com/acme/web.git');
      const res = await request(bare.url)
        .put(`/api/v1/projects/${owner}/web/secrets/NPM_TOKEN`)
        .set({ Authorization: `Bearer ${token}` })
        .send({ value: 'v' })
        .expect(503);
      expect(res.body.message).toMatch(/SECRETS_KEY is not set.*openssl rand -base64 32/);
      expect(await bare.prisma.secret.count()).toBe(0);
    } finally {
      await bare.close();
    }
  });
});
