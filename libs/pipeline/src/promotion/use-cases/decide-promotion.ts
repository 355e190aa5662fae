import { Injectable } from '@nestjs/common';
import { AuditRepository, PromotionFull, PromotionRepository } from '@dockyard/db';
import { PromotionEvents } from '@dockyard/events';
import { ConflictError, ForbiddenError } from '../../errors';
import { ApprovalEligibility } from '../approval-eligibility';
import { PromotionRecords, SETTLED } from '../promotion-records';
import { auditActor } from '../../projects/audit-actor';
import { Requester } from '../requester';
import { EvaluatePromotion } from './evaluate-promotion';

export interface DecidePromotionCommand {
  promotionId: string;
  approved: boolean;
  comment?: string;
  requester: Requester;
}

/** Approve or reject a waiting promotion, as someone the stage's rules allow to (refusals are audited). */
@Injectable()
export class DecidePromotion {
  constructor(
    private readonly records: PromotionRecords,
    private readonly evaluate: EvaluatePromotion,
    private readonly promotions: PromotionRepository,
    private readonly eligibility: ApprovalEligibility,
    private readonly audit: AuditRepository,
    private readonly promotionEvents: PromotionEvents,
  ) {}

  async execute({ promotionId, approved, comment, requester }: DecidePromotionCommand): Promise<PromotionFull> {
    const p = await this.records.get(promotionId);
    if (SETTLED.includes(p.status)) throw new ConflictError(`promotion ${promotionId} is already ${p.status}`);
    const refusal = await this.eligibility.refusalFor(p, requester.user);
    if (refusal) {
      await this.audit.record({
        ...auditActor(requester),
        action: approved ? 'approval.refused' : 'rejection.refused',
        projectId: p.projectId,
        subject: p.id,
        detail: { reason: refusal },
      });
      throw new ForbiddenError(refusal);
    }
    await this.promotions.approve({
      promotionId: p.id,
      userId: requester.user.id,
      approved,
      comment,
      channel: requester.channel,
    });
    await this.audit.record({
      ...auditActor(requester),
      action: approved ? 'promotion.approved' : 'promotion.rejected',
      projectId: p.projectId,
      subject: p.id,
      detail: { comment: comment ?? null },
    });
    if (!approved) {
      const reason = `rejected by ${requester.user.login}${comment ? `: ${comment}` : ''}`;
      const done = await this.records.finish(p, 'rejected', reason);
      await this.promotionEvents.rejected(p, requester.actor, reason);
      return done;
    }
    return this.evaluate.execute({ promotion: p.id });
  }
}
