import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ProjectRepository, User } from '@dockyard/db';
import { EVENT_TYPES, HookAdmin } from '@dockyard/events';
import { requireProject } from '@dockyard/pipeline';
import { Sessions } from '../auth/sessions';
import { ago, html, layout } from './html';

/**
 * Admins' page of a project's outgoing webhooks, as GitHub shows its own: each hook with its state
 * (and why it was disabled), its recent deliveries (HTTP status, time, the answer's start, attempts)
 * and buttons to redeliver one or turn the hook back on.
 */
@ApiExcludeController()
@Controller()
export class HooksDashboardController {
  constructor(
    private readonly sessions: Sessions,
    private readonly projects: ProjectRepository,
    private readonly hooks: HookAdmin,
  ) {}

  @Get('projects/:owner/:name/hooks')
  async page(@Param('owner') owner: string, @Param('name') name: string, @Req() req: Request, @Res() res: Response) {
    const user = await this.admin(req, res);
    if (!user) return;
    const project = await requireProject(this.projects, `${owner}/${name}`);
    const flash = { msg: str(req.query.msg), error: str(req.query.error) };
    const base = `/dashboard/projects/${owner}/${name}/hooks`;
    const hooks = await this.hooks.list(project.id);
    const sections = await Promise.all(
      hooks.map(async (h) => {
        const deliveries = await this.hooks.deliveries(project.id, h.id, 20);
        return html`<section class="hook" data-hook="${h.id}">
          <h2><code>${h.url}</code></h2>
          <p>
            ${h.format} · ${h.events.join(', ')} ·
            ${
              h.disabledAt
                ? html`<strong class="status-failed">disabled</strong> ${ago(h.disabledAt)}:
                    <span class="why">${h.disabledReason}</span>
                    <form class="inline" method="post" action="${base}/${h.id}/enable"><button>Enable</button></form>`
                : html`<strong class="status-passed">active</strong>`
            }
          </p>
          <table>
            <tr>
              <th>Delivery</th>
              <th>Event</th>
              <th>Status</th>
              <th>HTTP</th>
              <th>Time</th>
              <th>Attempts</th>
              <th>Answer</th>
              <th></th>
            </tr>
            ${deliveries.map(
              (d) =>
                html`<tr data-delivery="${d.id}">
                  <td>
                    <code>${d.id.slice(0, 8)}</code>${d.redeliveryOf ? ' (redelivery)' : ''}<br /><span class="muted"
                      >${ago(d.createdAt)}</span
                    >
                  </td>
                  <td>${d.eventId.toString()}</td>
                  <td class="status-${d.status === 'delivered' ? 'passed' : d.status}">${d.status}</td>
                  <td>${d.statusCode ?? d.error ?? ''}</td>
                  <td>${d.durationMs === null ? '' : `${d.durationMs} ms`}</td>
                  <td>${d.attempts}</td>
                  <td><code>${(d.response ?? '').slice(0, 120)}</code></td>
                  <td>
                    <form class="inline" method="post" action="${base}/${h.id}/deliveries/${d.id}/redeliver">
                      <button class="secondary" ${h.disabledAt ? 'disabled' : ''}>Redeliver</button>
                    </form>
                  </td>
                </tr>`,
            )}
          </table>
        </section>`;
      }),
    );
    res.type('html').send(
      layout(
        `Hooks of ${owner}/${name}`,
        html`<h1>Outgoing webhooks of <a href="/projects/${owner}/${name}">${owner}/${name}</a></h1>
          ${sections.length ? sections : html`<p class="muted">No hook yet.</p>`}
          <h2>Add a hook</h2>
          <form method="post" action="${base}">
            <label>URL <input name="url" type="url" required size="60" /></label>
            <label
              >Format
              <select name="format">
                <option value="json">JSON (the event, for bots)</option>
                <option value="slack">Slack-style (text + blocks)</option>
              </select>
            </label>
            <label>Events (comma-separated, or *) <input name="events" value="*" size="60" list="event-types" /></label>
            <datalist id="event-types">${EVENT_TYPES.map((t) => html`<option value="${t}"></option>`)}</datalist>
            <button>Add</button>
          </form>`,
        user,
        flash,
      ),
    );
  }

  @Post('dashboard/projects/:owner/:name/hooks')
  async create(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Body() body: Record<string, string>,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    const user = await this.admin(req, res);
    if (!user) return;
    const back = `/projects/${owner}/${name}/hooks`;
    try {
      const project = await requireProject(this.projects, `${owner}/${name}`);
      const events = String(body.events ?? '*')
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      const format = body.format === 'slack' ? 'slack' : 'json';
      const { hook, secret } = await this.hooks.create(
        project.id,
        { url: String(body.url ?? ''), events, format },
        user.login,
      );
      // The secret is shown here, once; never in a URL (it would land in logs and history).
      res.type('html').send(
        layout(
          'Hook added',
          html`<h1>Hook added</h1>
            <p>
              Deliveries to <code>${hook.url}</code> are signed with this secret
              (<code>X-Dockyard-Signature-256</code>). It is shown once:
            </p>
            <p><code id="secret">${secret}</code></p>
            <p><a href="${back}">Back to the hooks</a></p>`,
          user,
        ),
      );
    } catch (err) {
      res.redirect(303, `${back}?error=${encodeURIComponent((err as Error).message)}`);
    }
  }

  @Post('dashboard/projects/:owner/:name/hooks/:id/enable')
  async enable(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('id', ParseUUIDPipe) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    await this.act(req, res, owner, name, async (projectId) => {
      await this.hooks.enable(projectId, id);
      return 'Hook enabled';
    });
  }

  @Post('dashboard/projects/:owner/:name/hooks/:id/deliveries/:deliveryId/redeliver')
  async redeliver(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('deliveryId', ParseUUIDPipe) deliveryId: string,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    await this.act(req, res, owner, name, async (projectId) => {
      const d = await this.hooks.redeliver(projectId, id, deliveryId);
      return `Redelivery ${d.id.slice(0, 8)} queued`;
    });
  }

  private async act(
    req: Request,
    res: Response,
    owner: string,
    name: string,
    fn: (projectId: string, user: User) => Promise<string>,
  ) {
    const user = await this.admin(req, res);
    if (!user) return;
    const back = `/projects/${owner}/${name}/hooks`;
    try {
      const project = await requireProject(this.projects, `${owner}/${name}`);
      res.redirect(303, `${back}?msg=${encodeURIComponent(await fn(project.id, user))}`);
    } catch (err) {
      res.redirect(303, `${back}?error=${encodeURIComponent((err as Error).message)}`);
    }
  }

  /** Hooks carry secrets and reach other systems: admins only. */
  private async admin(req: Request, res: Response): Promise<User | null> {
    const user = await this.sessions.userOf(req);
    if (!user) {
      res.redirect(303, '/login');
      return null;
    }
    if (user.role !== 'admin') {
      res
        .status(403)
        .type('html')
        .send(layout('Forbidden', html`<h1>Only admins manage hooks</h1>`, user));
      return null;
    }
    return user;
  }
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
