import { Injectable } from '@nestjs/common';
import { Clock } from '../../clock';
import { ApprovalEligibility } from '../approval-eligibility';
import { GateContext, GateDecision, PromotionGate, allow, wait } from './gate';

/** How soon to look at unreadable history again. */
const HISTORY_RETRY_MS = 60_000;

/**
 * Enough approvals from people allowed to give them? Each "yes" is checked again now (role, the
 * stage's approvers, separation of duties over the whole range); when the range's history cannot be
 * read the promotion waits on that, closed, never open.
 */
@Injectable()
export class ApprovalsGate implements PromotionGate {
  readonly name = 'approvals';

  constructor(
    private readonly eligibility: ApprovalEligibility,
    private readonly clock: Clock,
  ) {}

  async check({ promotion, stage }: GateContext): Promise<GateDecision> {
    if (promotion.forced || stage.approvals === 0) return allow();
    const counted = await this.eligibility.count(promotion, stage);
    if ('unreadable' in counted)
      return wait(`separation of duties cannot be checked: ${counted.unreadable}; it waits until it can`, {
        until: new Date(this.clock.now().getTime() + HISTORY_RETRY_MS),
      });
    const missing = stage.approvals - counted.valid;
    if (missing <= 0) return allow();
    const from = stage.approvers?.length ? ` from ${stage.approvers.join(', ')}` : '';
    return wait(`needs ${missing} more approval(s) for ${stage.name}${from}`);
  }
}
