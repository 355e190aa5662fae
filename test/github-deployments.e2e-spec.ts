import { randomBytes } from 'node:crypto';
import { DeployRepository, DeployStatus, EnvironmentRepository, ProjectRepository } from '@dockyard/db';
import { DeploymentPublisher } from '@dockyard/operations';
import { TestApp, eventually, registerProject, startApp } from './support/app';
import { FakeGitHub } from './support/fake-github';

jest.setTimeout(120_000);

describe('GitHub Deployments: each deploy is a deployment of its environment (fake GitHub, real queue)', () => {
  const github = new FakeGitHub();
  let t: TestApp;
  const owner = `g${randomBytes(4).toString('hex')}`;
  const sha = (n: number) => String(n).repeat(40).slice(0, 40);
  const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

  beforeAll(async () => {
    const url = await github.start();
    t = await startApp({ GITHUB_API_URL: url, GITHUB_TOKEN: 'ghp_fake' });
    await registerProject(
      t.url,
      await t.token(['admin'], 'root'),
      owner,
      'web',
      'https://git.example.invalid/never-fetched/web.git',
    );
  });

  afterAll(async () => {
    await t?.close();
    await github.stop();
  });

  /** A deploy of build n's image into the environment, moved through `states` as the deploy engine would. */
  async function deploy(environmentId: string, projectId: string, n: number, states: DeployStatus[], reason?: string) {
    await t.prisma.image.upsert({
      where: { repository_digest: { repository: `${owner}/web`, digest: digest(n) } },
      create: { projectId, repository: `${owner}/web`, digest: digest(n), sizeBytes: 1n, sha: sha(n) },
      update: {},
    });
    const deploys = t.app.get(DeployRepository);
    const publisher = t.app.get(DeploymentPublisher);
    const d = await deploys.create({ environmentId, kind: 'deploy', repository: `${owner}/web`, digest: digest(n) });
    for (const status of states) {
      await deploys.update(d.id, { status, reason: status === 'failed' ? reason : null });
      await publisher.announce(d.id, status);
      const want = {
        queued: 'queued',
        running: 'in_progress',
        verifying: 'in_progress',
        succeeded: 'success',
        failed: 'failure',
      }[status];
      await eventually(
        async () => github.deployments.find((g) => g.ref === sha(n))?.statuses.some((s) => s.state === want),
        60_000,
        `GitHub deployment of ${n} ${want}`,
      );
    }
    return d;
  }

  it('creates the deployment, reports in_progress then success with the URL and log, and retires the older one', async () => {
    const project = (await t.app.get(ProjectRepository).find(owner, 'web'))!;
    const stage = await t.app.get(ProjectRepository).ensureStage(project.id, 'test');
    const env = await t.app.get(EnvironmentRepository).upsert(project.id, stage.id, { url: 'http://127.0.0.1:8101' });

    const first = await deploy(env.id, project.id, 1, ['queued', 'running', 'succeeded']);
    const one = github.deployments.find((g) => g.ref === sha(1))!;
    expect(one).toMatchObject({ owner, repo: 'web', environment: 'test', auto_merge: false, required_contexts: [] });
    expect(one.statuses.map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);
    expect(one.statuses.at(-1)).toMatchObject({
      environment_url: 'http://127.0.0.1:8101',
      log_url: `${t.config.http.publicUrl}/api/v1/deploys/${first.id}/logs`,
    });

    // GitHub goes down while the second deploy runs: its statuses arrive late, and nothing fails.
    github.failNext = 3;
    await deploy(env.id, project.id, 2, ['running', 'succeeded']);
    expect(github.failNext).toBe(0);
    expect(github.deploymentStates('test')).toEqual([
      ['queued', 'in_progress', 'success', 'inactive'],
      ['in_progress', 'success'],
    ]);

    // A failed deploy says why.
    await deploy(env.id, project.id, 3, ['running', 'failed'], 'health check failed on web-1');
    const three = github.deployments.find((g) => g.ref === sha(3))!;
    expect(three.statuses.at(-1)).toMatchObject({ state: 'failure', description: 'health check failed on web-1' });
    // The failure retired nothing: deploy 2 is still the live one.
    expect(github.deploymentStates('test')[1]).toEqual(['in_progress', 'success']);
  });
});
