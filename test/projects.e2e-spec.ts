import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { TestApp, deliver, eventually, pushPayload, startApp } from './support/app';
import { GitRepo, SCRATCH_DOCKERFILE } from './support/git-repo';

jest.setTimeout(120_000);

describe('projects: their own webhook secret, and registration from a first push', () => {
  const repo = new GitRepo();
  const owner = `proj${randomBytes(3).toString('hex')}`;
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ WEBHOOK_AUTO_REGISTER: 'true' });
  });

  afterAll(async () => {
    await t?.close();
    repo.remove();
  });

  it("checks a project's own secret instead of the global one", async () => {
    const token = await t.token(['admin']);
    const secret = 'per-project-secret-0123456789';
    await request(t.url)
      .post('/api/v1/projects')
      .set('Authorization', `Bearer ${token}`)
      .send({ owner, name: 'own', cloneUrl: repo.cloneUrl, webhookSecret: secret })
      .expect(201);
    const sha = 'e'.repeat(40);
    await deliver(t.url, pushPayload(owner, 'own', sha)).expect(401);
    const ok = await deliver(t.url, pushPayload(owner, 'own', sha), { secret }).expect(202);
    expect(ok.body.buildId).toEqual(expect.any(String));
    const short = await request(t.url)
      .post('/api/v1/projects')
      .set('Authorization', `Bearer ${token}`)
      .send({ owner, name: 'weak', cloneUrl: repo.cloneUrl, webhookSecret: 'short' })
      .expect(400);
    expect(short.body.message).toEqual(['webhookSecret must be at least 16 characters']);
  });

  it('registers an unknown repository from its first push when configured, and builds it', async () => {
    const sha = repo.commit({
      Dockerfile: SCRATCH_DOCKERFILE,
      'app/x': 'x',
      '.dockyard.yml': `image: ${owner}/auto\n`,
    });
    const res = await deliver(t.url, pushPayload(owner, 'auto', sha, 'main', repo.cloneUrl)).expect(202);
    const project = await t.prisma.project.findUniqueOrThrow({ where: { owner_name: { owner, name: 'auto' } } });
    expect(project).toMatchObject({ cloneUrl: repo.cloneUrl, defaultBranch: 'main' });
    const build = await eventually(async () => {
      const b = await t.prisma.build.findUniqueOrThrow({ where: { id: res.body.buildId } });
      return ['passed', 'failed', 'error'].includes(b.status) && b;
    });
    expect(build.status).toBe('passed');
  });
});
