import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { AccessTokens } from '@dockyard/pipeline';
import { TestApp, registerProject, startApp } from './support/app';

jest.setTimeout(60_000);

/** DORA metrics from a scripted history of builds, promotions, a rollback and a failed verification. */
describe('delivery metrics (DORA) from Dockyard records (real Postgres)', () => {
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startApp();
    admin = await t.token(['admin']);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('matches the history in the API, in Prometheus and on the project page', async () => {
    const owner = `m${randomBytes(4).toString('hex')}`;
    await registerProject(t.url, admin, owner, 'web', 'https://git.example.invalid/never-fetched/web.git');
    const project = await t.prisma.project.findUniqueOrThrow({ where: { owner_name: { owner, name: 'web' } } });
    const [, prod] = await Promise.all(
      ['dev', 'prod'].map((name, position) =>
        t.prisma.stage.create({ data: { projectId: project.id, name, position } }),
      ),
    );
    const HOUR = 3_600_000;
    const now = Date.now();
    const ago = (days: number, hours = 0) => new Date(now - days * 24 * HOUR + hours * HOUR);

    /** A build of a commit made `lead` hours before it reached prod, and its image. */
    const image = async (n: number, releasedAt: Date, leadHours: number) => {
      const digest = `sha256:${n.toString(16).padStart(64, '0')}`;
      const img = await t.prisma.image.create({
        data: {
          projectId: project.id,
          repository: `${owner}/web`,
          digest,
          sizeBytes: 1n,
          sha: `${n}`.padStart(40, 'a'),
        },
      });
      await t.prisma.build.create({
        data: {
          projectId: project.id,
          trigger: 'push',
          ref: 'refs/heads/main',
          branch: 'main',
          sha: img.sha,
          status: 'passed',
          imageId: img.id,
          committedAt: new Date(releasedAt.getTime() - leadHours * HOUR),
          createdAt: new Date(releasedAt.getTime() - leadHours * HOUR + 60_000),
        },
      });
      return img;
    };
    const release = async (img: { id: string; digest: string }, at: Date, kind: 'promote' | 'rollback' = 'promote') => {
      const promotion = await t.prisma.promotion.create({
        data: {
          projectId: project.id,
          imageId: img.id,
          digest: img.digest,
          toStageId: prod.id,
          kind,
          status: 'promoted',
          channel: 'api',
          createdAt: at,
          completedAt: at,
        },
      });
      await t.prisma.release.create({
        data: { stageId: prod.id, imageId: img.id, digest: img.digest, promotionId: promotion.id, createdAt: at },
      });
    };

    // Four deployments into prod; the second rolled back an hour later, the third failed its
    // verification 30 minutes in and was fixed forward by the fourth three days later.
    const d1 = await image(1, ago(20), 2);
    await release(d1, ago(20));
    const d2 = await image(2, ago(10), 4);
    await release(d2, ago(10));
    await release(d1, ago(10, 1), 'rollback');
    const d3 = await image(3, ago(5), 6);
    await release(d3, ago(5));
    await t.prisma.event.create({
      data: {
        type: 'deploy.failed',
        projectId: project.id,
        stage: 'prod',
        digest: d3.digest,
        actor: 'system',
        data: { environment: 'prod', deployId: null, reason: 'health check failed' },
        at: ago(5, 0.5),
      },
    });
    const d4 = await image(4, ago(2), 8);
    await release(d4, ago(2));

    const m = (
      await request(t.url)
        .get(`/api/v1/projects/${owner}/web/metrics`)
        .set('Authorization', `Bearer ${admin}`)
        .expect(200)
    ).body;
    expect(m).toMatchObject({
      project: `${owner}/web`,
      stage: 'prod',
      windowDays: 30,
      deployments: 4,
      deploymentsPerDay: 0.133,
      leadTimeSeconds: { median: 4 * 3600, p90: 8 * 3600 },
      changeFailureRate: 0.5,
      failedDeployments: 2,
      timeToRestoreSeconds: { median: 3600, count: 2 },
    });
    expect(m.weeks).toHaveLength(12);
    expect(m.weeks.reduce((n: number, w: { deployments: number }) => n + w.deployments, 0)).toBe(4);

    const scrape = (await request(t.url).get('/metrics').expect(200)).text;
    const label = `{project="${owner}/web"}`;
    expect(scrape).toContain(`dockyard_dora_deployments${label} 4`);
    expect(scrape).toContain(`dockyard_dora_lead_time_seconds${label} 14400`);
    expect(scrape).toContain(`dockyard_dora_change_failure_rate${label} 0.5`);
    expect(scrape).toContain(`dockyard_dora_time_to_restore_seconds${label} 3600`);

    await t.app.get(AccessTokens).createUser('metrics-admin', 'admin', { password: 'a long enough password' });
    const agent = request.agent(t.url);
    await agent
      .post('/login')
      .set('Origin', t.url)
      .type('form')
      .send({ login: 'metrics-admin', password: 'a long enough password' })
      .expect(303);
    const page = (await agent.get(`/projects/${owner}/web`).expect(200)).text;
    expect(page).toContain('<svg class="dora-chart"');
    expect(page).toMatch(/data-metric="failure-rate">50 %</);
    expect(page).toMatch(/data-metric="lead-time">4.0 h</);
    expect(page).toMatch(/data-metric="frequency">0.133 \/ day \(4\)</);
  });
});
