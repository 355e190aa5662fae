import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { TestApp, deliver, eventually, pushPayload, registerProject, startApp } from './support/app';
import { OwnPostgres } from './support/own-services';

jest.setTimeout(120_000);

/** PostgreSQL of this spec's own (never the shared one), stopped while requests come in. */
describe('PostgreSQL down: 503 with Retry-After, so GitHub and clients retry', () => {
  const pg = new OwnPostgres();
  const owner = `pgdown${randomBytes(3).toString('hex')}`;
  let t: TestApp;
  let token: string;

  beforeAll(async () => {
    await pg.start();
    t = await startApp({ DATABASE_URL: await pg.migratedDatabase() });
    token = await t.token(['admin']);
    await registerProject(t.url, token, owner, 'web', 'https://git.example.invalid/web.git');
  });

  afterAll(async () => {
    await t?.close();
    await pg.remove();
  });

  it('answers a webhook and the REST API with 503 and Retry-After while it is down (it was 500), then takes the redelivery', async () => {
    await pg.kill();
    const deliveryId = randomUUID();
    const payload = pushPayload(owner, 'web', 'a'.repeat(40));
    const hook = await deliver(t.url, payload, { deliveryId });
    expect(hook.status).toBe(503);
    expect(hook.headers['retry-after']).toBe('5');
    expect(hook.body.message).toBe('the database is unavailable; retry shortly');

    const api = await request(t.url).get('/api/v1/builds').set('Authorization', `Bearer ${token}`);
    expect(api.status).toBe(503);
    expect(api.headers['retry-after']).toBe('5');

    await pg.start();
    // GitHub's redelivery keeps the delivery id: it is accepted once Postgres is back.
    const again = await eventually(
      async () => {
        const res = await deliver(t.url, payload, { deliveryId });
        return res.status !== 503 && res;
      },
      30_000,
      'the redelivery to be taken',
    );
    expect(again.status).toBe(202);
    expect(again.body.buildId).toEqual(expect.any(String));
  });
});
