import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ProjectRepository, PromotionRepository } from '@dockyard/db';
import { ApprovalEligibility } from '@dockyard/pipeline';
import { Sessions } from '../auth/sessions';
import { ago, html, layout, short } from './html';

/**
 * "Waiting for me": every promotion, in every project, that waits for an approval this person may
 * give now (the same refusal logic as the Approve button), and that they have not answered yet.
 */
@ApiExcludeController()
@Controller()
export class WaitingDashboardController {
  constructor(
    private readonly sessions: Sessions,
    private readonly projects: ProjectRepository,
    private readonly promotions: PromotionRepository,
    private readonly eligibility: ApprovalEligibility,
  ) {}

  @Get('waiting')
  async page(@Req() req: Request, @Res() res: Response) {
    const user = await this.sessions.userOf(req);
    if (!user) {
      res.redirect(303, '/login');
      return;
    }
    const open = (await Promise.all((await this.projects.list()).map((p) => this.promotions.open(p.id)))).flat();
    const mine = [];
    for (const p of open) {
      if (p.status !== 'waiting' || p.approvals.some((a) => a.userId === user.id)) continue;
      if (!(p.reason ?? '').includes('approval')) continue;
      if (await this.eligibility.refusalFor(p, user)) continue;
      mine.push(p);
    }
    res.type('html').send(
      layout(
        'Waiting for me',
        html`<h1>Waiting for me</h1>
          ${
            mine.length
              ? html`<table>
                  <tr>
                    <th>Project</th>
                    <th>Into</th>
                    <th>Digest</th>
                    <th>Asked by</th>
                    <th>Waits for</th>
                    <th></th>
                  </tr>
                  ${mine.map(
                    (p) =>
                      html`<tr data-promotion="${p.id}">
                        <td>
                          <a href="/projects/${p.project.owner}/${p.project.name}"
                            >${p.project.owner}/${p.project.name}</a
                          >
                        </td>
                        <td>${p.toStage.name}</td>
                        <td><code>${short(p.digest)}</code></td>
                        <td>${p.requestedBy?.login ?? 'system'} <span class="muted">${ago(p.createdAt)}</span></td>
                        <td>${p.reason}</td>
                        <td>
                          <form class="inline" method="post" action="/dashboard/promotions/${p.id}/approve">
                            <button aria-label="Approve ${short(p.digest)} for ${p.toStage.name}">Approve</button>
                          </form>
                          <form class="inline" method="post" action="/dashboard/promotions/${p.id}/reject">
                            <button class="secondary">Reject</button>
                          </form>
                        </td>
                      </tr>`,
                  )}
                </table>`
              : html`<p class="muted">Nothing waits for you.</p>`
          }`,
        user,
      ),
    );
  }
}
