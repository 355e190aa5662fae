import { generateKeyPairSync, randomBytes } from 'node:crypto';
import request from 'supertest';
import { RegistryClient } from '@dockyard/registry';
import { TestApp, WEBHOOK_SECRET, deliver, eventually, pushPayload, registerProject, startApp } from './support/app';
import { FakeGitHub } from './support/fake-github';
import { GitRepo, SCRATCH_DOCKERFILE } from './support/git-repo';

jest.setTimeout(180_000);

async function finished(t: TestApp, token: string, buildId: string) {
  return eventually(
    async () => {
      const b = (await request(t.url).get(`/api/v1/builds/${buildId}`).set('Authorization', `Bearer ${token}`)).body;
      return !['queued', 'running'].includes(b.status) && b;
    },
    120_000,
    `build ${buildId}`,
  );
}

describe('no missed pushes: branch heads compared with builds (git ls-remote)', () => {
  const repo = new GitRepo();
  const owner = `mp${randomBytes(3).toString('hex')}`;
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startApp({ MISSED_PUSH_INTERVAL: '1s' });
    admin = await t.token(['admin']);
    await registerProject(t.url, admin, owner, 'web', repo.cloneUrl);
  });

  afterAll(async () => {
    await t?.close();
    repo.remove();
  });

  it('builds a branch head that no webhook announced, once, into dev', async () => {
    const files = { Dockerfile: SCRATCH_DOCKERFILE, 'app/v': '1', '.dockyard.yml': `image: ${owner}/web\n` };
    const first = repo.commit(files);
    const announced = await deliver(t.url, pushPayload(owner, 'web', first)).expect(202);
    expect((await finished(t, admin, announced.body.buildId)).status).toBe('passed');

    // The delivery of this push was lost: nobody tells Dockyard.
    const missed = repo.commit({ 'app/v': '2' }, 'never announced');
    const build = await eventually(
      () => t.prisma.build.findFirst({ where: { sha: missed } }),
      60_000,
      'a build of the missed push',
    );
    expect(build).toMatchObject({ trigger: 'missed_push', branch: 'main', ref: 'refs/heads/main' });
    const done = await finished(t, admin, build.id);
    expect(done.status).toBe('passed');
    expect(await t.app.get(RegistryClient).resolve(`${owner}/web`, 'dev')).toBe(done.image.digest);
    // Later sweeps find the head built and add nothing.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await t.prisma.build.count({ where: { sha: missed } })).toBe(1);
  });
});

describe('no missed pushes: a GitHub App’s failed deliveries are redelivered', () => {
  const github = new FakeGitHub();
  const repo = new GitRepo();
  const owner = `rd${randomBytes(3).toString('hex')}`;
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    github.app = { id: 4343, installationId: 77, publicKey };
    t = await startApp({
      GITHUB_API_URL: await github.start(),
      GITHUB_APP_ID: '4343',
      GITHUB_APP_INSTALLATION_ID: '77',
      GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      REDELIVERY_INTERVAL: '1s',
      MISSED_PUSH_INTERVAL: '0',
    });
    admin = await t.token(['admin']);
    await registerProject(t.url, admin, owner, 'web', repo.cloneUrl);
  });

  afterAll(async () => {
    await t?.close();
    await github.stop();
    repo.remove();
  });

  it('asks GitHub to redeliver a push whose delivery failed, and builds it', async () => {
    const target = { url: `${t.url}/webhooks/github`, secret: WEBHOOK_SECRET };
    const files = { Dockerfile: SCRATCH_DOCKERFILE, 'app/v': '1', '.dockyard.yml': `image: ${owner}/web\n` };
    const ok = await github.deliver(target, 'push', pushPayload(owner, 'web', repo.commit(files)));
    expect(ok.status_code).toBe(202);

    const sha = repo.commit({ 'app/v': '2' });
    const lost = await github.deliver(target, 'push', pushPayload(owner, 'web', sha), { lost: true });
    const build = await eventually(
      () => t.prisma.build.findFirst({ where: { sha }, include: { delivery: true } }),
      60_000,
      'the redelivered push to build',
    );
    expect(build.delivery?.deliveryId).toBe(lost.guid);
    expect((await finished(t, admin, build.id)).status).toBe('passed');
    // Asked once, for the failed delivery only; the good one and the redelivered one are left alone.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(github.redeliveryRequests).toEqual([lost.id]);
  });
});
