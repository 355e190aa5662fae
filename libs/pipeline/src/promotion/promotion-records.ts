import { Injectable } from '@nestjs/common';
import { AuditRepository, Prisma, PromotionFull, PromotionRepository } from '@dockyard/db';
import { PromotionEvents } from '@dockyard/events';
import { NotFoundError } from '../errors';
import { auditActor } from '../projects/audit-actor';
import type { Requester } from './requester';

export const SETTLED = ['promoted', 'rejected', 'blocked', 'failed'];

/** The promotion record: opened with its audit event, settled with its outcome; read back in full. */
@Injectable()
export class PromotionRecords {
  constructor(
    private readonly promotions: PromotionRepository,
    private readonly audit: AuditRepository,
    private readonly promotionEvents: PromotionEvents,
  ) {}

  async get(id: string): Promise<PromotionFull> {
    const promotion = await this.promotions.find(id);
    if (!promotion) throw new NotFoundError(`promotion ${id} does not exist`);
    return promotion;
  }

  /** Record a new promotion (waiting) and audit the request; what it relates to is in hand already. */
  async open(
    data: Omit<Prisma.PromotionUncheckedCreateInput, 'status' | 'channel' | 'requestedById'>,
    loaded: Pick<PromotionFull, 'project' | 'image' | 'toStage'>,
    requester: Requester,
    action: string,
    detail: Prisma.InputJsonValue,
  ): Promise<PromotionFull> {
    const row = await this.promotions.create({
      ...data,
      status: 'waiting',
      channel: requester.channel,
      requestedById: requester.user.id || null,
    });
    await this.audit.record({ ...auditActor(requester), action, projectId: data.projectId, subject: row.id, detail });
    return {
      ...row,
      ...loaded,
      approvals: [],
      testRuns: [],
      requestedBy: requester.user.id ? requester.user : null,
    };
  }

  async finish(
    p: PromotionFull,
    status: 'blocked' | 'failed' | 'rejected',
    reason: string,
    action?: string,
    gates?: Prisma.InputJsonValue,
  ): Promise<PromotionFull> {
    await this.promotions.update(p.id, { status, reason, completedAt: new Date(), gates });
    if (status !== 'rejected') await this.promotionEvents.failed(p, status, reason);
    if (action)
      await this.audit.record({
        actor: 'system',
        channel: 'system',
        action,
        projectId: p.projectId,
        subject: p.id,
        detail: { reason },
      });
    return this.get(p.id);
  }
}
