import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AuditRepository, BuildRepository, ProjectRepository, PromotionRepository, User } from '@dockyard/db';
import { DeliveryMetrics } from '@dockyard/events';
import { CommitsAhead, EnvironmentsOverview, ReconvergeEnvironment } from '@dockyard/operations';
import {
  AccessTokens,
  ApprovalEligibility,
  DecidePromotion,
  ForbiddenError,
  ProjectPolicies,
  PromotionRecords,
  RequestPromotion,
  Requester,
  RollBackStage,
  SignOffStage,
  StageRules,
  requireProject,
  scopesOfRole,
} from '@dockyard/pipeline';
import { redactUrl } from '@dockyard/git';
import { LoginThrottle } from '../auth/login-throttle';
import { Sessions } from '../auth/sessions';
import { doraChart } from './dora-chart';
import { environmentPanel, signOffPanel } from './environment-panel';
import { Html, LOG_SCRIPT, ago, html, layout, script, short } from './html';

type Flash = { msg?: string; error?: string };

/** A stage's gates in a line: "auto", "1 approval · separation of duties · 2 freeze windows". */
function gatesOf(stage: StageRules | undefined): string {
  if (!stage) return '';
  const parts = [
    stage.auto && 'automatic',
    stage.approvals > 0 && `${stage.approvals} approval${stage.approvals > 1 ? 's' : ''}`,
    stage.approvers?.length && `by ${stage.approvers.join(', ')}`,
    stage.separationOfDuties && 'separation of duties',
    stage.test.length && `tests: ${stage.test.map((t) => t.name).join(', ')}`,
    stage.freeze.length && `${stage.freeze.length} freeze window${stage.freeze.length > 1 ? 's' : ''}`,
    stage.signoff?.required && 'sign-off',
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : 'no gates';
}

/**
 * The web dashboard: plain server-rendered HTML and forms, so it is fast and works with any browser
 * and a screen reader. Its buttons call the same use cases as the API, under the same policy.
 */
@ApiExcludeController()
@Controller()
export class DashboardController {
  constructor(
    private readonly sessions: Sessions,
    private readonly tokens: AccessTokens,
    private readonly projects: ProjectRepository,
    private readonly promotions: PromotionRepository,
    private readonly builds: BuildRepository,
    private readonly audit: AuditRepository,
    private readonly requestPromotion: RequestPromotion,
    private readonly decidePromotion: DecidePromotion,
    private readonly rollBackStage: RollBackStage,
    private readonly signOffStage: SignOffStage,
    private readonly commitsAhead: CommitsAhead,
    private readonly reconverge: ReconvergeEnvironment,
    private readonly records: PromotionRecords,
    private readonly eligibility: ApprovalEligibility,
    private readonly policies: ProjectPolicies,
    private readonly deliveryMetrics: DeliveryMetrics,
    private readonly environments: EnvironmentsOverview,
  ) {}

  @Get('login')
  loginPage(@Query('error') error: string | undefined, @Res() res: Response) {
    res.type('html').send(
      layout(
        'Log in',
        html`<h1>Log in</h1>
          <form method="post" action="/login">
            <label>Login <input name="login" autocomplete="username" required autofocus /></label>
            <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
            <button>Log in</button>
          </form>`,
        null,
        { error },
      ),
    );
  }

  /** Attempts are limited per login and per address (LoginThrottle): more is 429 with Retry-After. */
  @Post('login')
  @UseGuards(LoginThrottle)
  async login(@Body() body: Record<string, string>, @Req() req: Request, @Res() res: Response) {
    try {
      const user = await this.tokens.login(String(body.login ?? ''), String(body.password ?? ''));
      res.setHeader('Set-Cookie', this.sessions.cookie(user, req));
      res.redirect(303, '/');
    } catch {
      res.redirect(303, `/login?error=${encodeURIComponent('Unknown login or wrong password')}`);
    }
  }

  /** Ends every session of this person on the server, not only this browser's cookie. */
  @Post('logout')
  async logout(@Req() req: Request, @Res() res: Response) {
    await this.sessions.end(req);
    res.setHeader('Set-Cookie', this.sessions.clear(req));
    res.redirect(303, '/login');
  }

  @Get()
  async home(@Req() req: Request, @Res() res: Response) {
    const user = await this.userOr401(req, res);
    if (!user) return;
    const projects = await this.projects.list();
    res.type('html').send(
      layout(
        'Projects',
        html`<h1>Projects</h1>
          ${
            projects.length
              ? html`<ul>
                  ${projects.map((p) => html`<li><a href="/projects/${p.owner}/${p.name}">${p.owner}/${p.name}</a> <span class="muted">${redactUrl(p.cloneUrl)}</span></li>`)}
                </ul>`
              : html`<p class="muted">No project yet: register one with <code>POST /api/v1/projects</code>.</p>`
          }`,
        user,
      ),
    );
  }

  @Get('projects/:owner/:name')
  async project(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Query() flash: Flash,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    const user = await this.userOr401(req, res);
    if (!user) return;
    const project = await requireProject(this.projects, `${owner}/${name}`);
    const policy = await this.policies.ensureStages(project.id);
    const [stages, open, recentBuilds, dora, environments] = await Promise.all([
      this.promotions.stages(project.id),
      this.promotions.open(project.id),
      this.builds.list({ projectId: project.id, take: 10, skip: 0 }),
      this.deliveryMetrics.forProject(project.id),
      this.environments.execute(owner, name),
    ]);
    const mayPromote = scopesOfRole(user.role).some((s) => s === 'promote' || s === 'admin');
    const base = `/projects/${owner}/${name}`;
    const columns = await Promise.all(
      stages.map(async (stage, i) => {
        const now = stage.releases[0];
        const next = stages[i + 1];
        const waiting = await Promise.all(
          open
            .filter((p) => p.toStageId === stage.id)
            .map(async (p) => {
              const why =
                p.status === 'waiting'
                  ? await this.eligibility.refusalFor(p, user)
                  : p.status === 'promoting'
                    ? 'deploying'
                    : 'tests are running';
              return html`<div class="waiting" id="promotion-${p.id}" data-promotion="${p.id}">
                <p>
                  <strong>${p.kind === 'rollback' ? 'Rollback' : 'Waiting'}:</strong> <code>${short(p.digest)}</code> by
                  ${p.requestedBy?.login ?? 'system'}<br /><span class="muted">${p.reason}</span>
                </p>
                ${why ? html`<p class="why">${why}</p>` : ''}
                <form class="inline" method="post" action="/dashboard/promotions/${p.id}/approve">
                  <button ${why ? 'disabled' : ''} aria-label="Approve ${short(p.digest)} for ${stage.name}">
                    Approve
                  </button>
                </form>
                <form class="inline" method="post" action="/dashboard/promotions/${p.id}/reject">
                  <button class="secondary" ${why ? 'disabled' : ''}>Reject</button>
                </form>
              </div>`;
            }),
        );
        const actions: Html[] = [];
        const ahead =
          now && next ? await this.commitsAhead.count(project, next.releases[0]?.image.sha ?? null, now.image.sha) : 0;
        if (ahead)
          actions.push(html`<p class="ahead">${ahead} commit${ahead === 1 ? '' : 's'} not in ${next.name}</p>`);
        const view = environments.find((e) => e.stage === stage.name);
        if (
          user.role === 'admin' &&
          now &&
          view?.environment?.hosts.some((h) => h.state === 'drifted' || h.state === 'down')
        )
          actions.push(
            html`<form method="post" action="/dashboard${base}/environments/${stage.name}/reconverge">
              <button class="secondary">Re-converge ${stage.name}</button>
            </form>`,
          );
        if (now && next && next.releases[0]?.digest !== now.digest) {
          actions.push(
            mayPromote
              ? html`<form method="post" action="/dashboard/promotions">
                  <input type="hidden" name="project" value="${owner}/${name}" /><input
                    type="hidden"
                    name="digest"
                    value="${now.digest}"
                  /><input type="hidden" name="to" value="${next.name}" /><button>Promote to ${next.name}</button>
                </form>`
              : html`<button disabled>Promote to ${next.name}</button>
                  <p class="why">${user.role}s may not promote</p>`,
          );
        }
        if (stage.releases.some((r) => r.digest !== now?.digest)) {
          actions.push(
            mayPromote
              ? html`<form method="post" action="/dashboard${base}/stages/${stage.name}/rollback">
                  <button class="secondary">Roll back</button>
                </form>`
              : html`<button class="secondary" disabled>Roll back</button>`,
          );
        }
        return html`<section class="stage" data-stage="${stage.name}" aria-label="stage ${stage.name}">
          <h2>${stage.name}</h2>
          <p class="muted rules">${gatesOf(policy.rules.stages.find((r) => r.name === stage.name))}</p>
          ${
            now
              ? html`<p>
                  Digest <code class="digest">${short(now.digest)}</code><br />Commit
                  <code>${now.image.sha.slice(0, 12)}</code><br /><span class="muted"
                    >${ago(now.createdAt)} by ${now.byLogin ?? 'system'}</span
                  >
                </p>`
              : html`<p class="muted">Empty</p>`
          }${environmentPanel(environments.find((e) => e.stage === stage.name))}${signOffPanel(
            `${owner}/${name}`,
            stage.name,
            now?.digest,
            environments.find((e) => e.stage === stage.name)?.signoffs ?? [],
            mayPromote,
          )}${actions}${waiting}
        </section>`;
      }),
    );
    res.type('html').send(
      layout(
        `${owner}/${name}`,
        html`<h1>${owner}/${name}</h1>
          <p class="muted">Policy version ${policy.version} (${policy.createdBy})</p>
          <div class="stages">${columns}</div>
          ${doraChart(dora, dora.stage)}
          ${user.role === 'admin' ? html`<p><a href="/projects/${owner}/${name}/hooks">Outgoing webhooks</a></p>` : ''}
          <h2>Recent builds</h2>
          <table>
            <tr>
              <th>Build</th>
              <th>Branch</th>
              <th>Commit</th>
              <th>Status</th>
              <th>When</th>
            </tr>
            ${recentBuilds.items.map(
              (b) =>
                html`<tr>
                  <td><a href="/builds/${b.id}">${b.id.slice(0, 8)}</a></td>
                  <td>${b.branch ?? b.ref}</td>
                  <td><code>${b.sha.slice(0, 12)}</code></td>
                  <td class="status-${b.status}">${b.status}</td>
                  <td>${ago(b.createdAt)}</td>
                </tr>`,
            )}
          </table>`,
        user,
        flash,
      ),
    );
  }

  @Get('builds/:id')
  async build(@Param('id', ParseUUIDPipe) id: string, @Req() req: Request, @Res() res: Response) {
    const user = await this.userOr401(req, res);
    if (!user) return;
    const b = await this.builds.detail(id);
    if (!b) {
      res
        .status(404)
        .type('html')
        .send(layout('Not found', html`<h1>No build ${id}</h1>`, user));
      return;
    }
    res.type('html').send(
      layout(
        `Build ${id.slice(0, 8)}`,
        html`<h1>
            Build <code>${id.slice(0, 8)}</code> of
            <a href="/projects/${b.project.owner}/${b.project.name}">${b.project.owner}/${b.project.name}</a>
          </h1>
          <p>
            Status
            <strong class="status-${b.status}" id="status">${b.status}</strong
            >${b.reason ? html` — ${b.reason}` : ''}<br />
            ${b.ref} at <code>${b.sha.slice(0, 12)}</code> by
            ${b.pusher ?? 'unknown'}${b.image ? html`<br />Image <code>${b.image.repository}@${b.image.digest}</code>` : ''}
          </p>
          <h2>Tests</h2>
          <table>
            <tr>
              <th>Test</th>
              <th>Status</th>
              <th>Exit</th>
              <th>Time</th>
            </tr>
            ${b.testRuns.map(
              (t) =>
                html`<tr>
                  <td>${t.name}</td>
                  <td class="status-${t.status}">${t.status}</td>
                  <td>${t.exitCode ?? ''}</td>
                  <td>${t.durationMs ? `${(t.durationMs / 1000).toFixed(1)}s` : ''}</td>
                </tr>`,
            )}
          </table>
          <h2>Log</h2>
          <pre id="log" aria-live="polite" data-build="${id}"></pre>
          ${script(LOG_SCRIPT)}`,
        user,
      ),
    );
  }

  @Get('audit')
  async auditPage(@Req() req: Request, @Res() res: Response) {
    const user = await this.userOr401(req, res);
    if (!user) return;
    const events = await this.audit.list({ take: 200 });
    res.type('html').send(
      layout(
        'Audit',
        html`<h1>Audit trail</h1>
          <table>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>Via</th>
              <th>What</th>
              <th>Subject</th>
            </tr>
            ${events.map(
              (e) =>
                html`<tr>
                  <td>${e.at.toISOString()}</td>
                  <td>${e.actor}</td>
                  <td>${e.channel}</td>
                  <td>${e.action}</td>
                  <td><code>${e.subject ?? ''}</code></td>
                </tr>`,
            )}
          </table>`,
        user,
      ),
    );
  }

  @Post('dashboard/promotions')
  async promote(@Body() body: Record<string, string>, @Req() req: Request, @Res() res: Response) {
    await this.act(req, res, String(body.project), async (requester) => {
      const [owner, name] = String(body.project).split('/');
      const p = await this.requestPromotion.execute({
        owner,
        name,
        digest: String(body.digest),
        to: String(body.to),
        requester,
      });
      return `Promotion to ${body.to}: ${p.status}${p.reason ? ` (${p.reason})` : ''}`;
    });
  }

  @Post('dashboard/promotions/:id/:decision')
  async decide(
    @Param('id', ParseUUIDPipe) id: string,
    @Param('decision') decision: string,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    const p = await this.records.get(id);
    await this.act(req, res, `${p.project.owner}/${p.project.name}`, async (requester) => {
      const after = await this.decidePromotion.execute({
        promotionId: id,
        approved: decision === 'approve',
        requester,
      });
      return `${decision === 'approve' ? 'Approved' : 'Rejected'}: ${after.toStage.name} promotion is ${after.status}`;
    });
  }

  @Post('dashboard/projects/:owner/:name/stages/:stage/rollback')
  async rollback(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    await this.act(req, res, `${owner}/${name}`, async (requester) => {
      const p = await this.rollBackStage.execute({ owner, name, stage, requester });
      return `Rollback of ${stage}: ${p.status}${p.reason ? ` (${p.reason})` : ''}`;
    });
  }

  @Post('dashboard/projects/:owner/:name/environments/:stage/reconverge')
  async reconvergeStage(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    await this.act(req, res, `${owner}/${name}`, async (requester) => {
      if (requester.user.role !== 'admin') throw new ForbiddenError('only admins re-converge an environment');
      const { digest } = await this.reconverge.request({
        owner,
        name,
        stage,
        by: { actor: requester.actor, userId: requester.user.id, channel: requester.channel },
      });
      return `Re-converging ${stage} to ${short(digest)}`;
    });
  }

  @Post('dashboard/projects/:owner/:name/stages/:stage/signoff')
  async signOff(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Body() body: Record<string, string>,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    await this.act(req, res, `${owner}/${name}`, async (requester) => {
      const result = body.result === 'fails' ? 'fails' : 'passes';
      const comment = String(body.comment ?? '').slice(0, 1000) || undefined;
      const row = await this.signOffStage.execute({
        owner,
        name,
        stage,
        result,
        comment,
        digest: body.digest,
        requester,
      });
      return `Signed off ${short(row.digest)} in ${stage}: ${row.result}`;
    });
  }

  /** Run a dashboard action as the logged-in person and come back to the project page with the outcome. */
  private async act(
    req: Request,
    res: Response,
    project: string,
    fn: (r: Requester) => Promise<string>,
  ): Promise<void> {
    const user = await this.userOr401(req, res);
    if (!user) return;
    const back = `/projects/${project}`;
    try {
      const msg = await fn({ user, channel: 'dashboard', actor: user.login });
      res.redirect(303, `${back}?msg=${encodeURIComponent(msg)}`);
    } catch (err) {
      res.redirect(303, `${back}?error=${encodeURIComponent((err as Error).message)}`);
    }
  }

  private async userOr401(req: Request, res: Response): Promise<User | null> {
    const user = await this.sessions.userOf(req);
    if (!user) res.redirect(303, '/login');
    return user;
  }
}
