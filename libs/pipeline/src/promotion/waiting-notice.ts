import { Injectable } from '@nestjs/common';
import { AccessRepository, PromotionFull } from '@dockyard/db';
import { PromotionEvents, WaitingFacts } from '@dockyard/events';
import { ApprovalEligibility } from './approval-eligibility';
import { ProjectPolicies } from './project-policies';

/** The gate a promotion waits on, as promotion.waiting names it. */
const WAITS_FOR: Record<string, WaitingFacts['for']> = {
  approvals: 'approval',
  freeze: 'freeze',
  tests: 'tests',
  signoff: 'signoff',
};

/**
 * promotion.waiting, with who may approve it now: every active approver or admin the refusal logic
 * (role, the stage's approvers, separation of duties) lets through, and who has not answered yet.
 */
@Injectable()
export class WaitingNotice {
  constructor(
    private readonly access: AccessRepository,
    private readonly events: PromotionEvents,
    private readonly eligibility: ApprovalEligibility,
    private readonly policies: ProjectPolicies,
  ) {}

  /** Announce that the promotion now waits on a gate (called when its wait begins or changes). */
  async publish(p: PromotionFull, gate: string, reason: string): Promise<void> {
    const waitsFor = WAITS_FOR[gate] ?? 'other';
    const { rules } = await this.policies.forImage(p.project, p.image);
    const needed = rules.stages.find((s) => s.name === p.toStage.name)?.approvals ?? 0;
    const answered = new Set(p.approvals.map((a) => a.userId));
    const mayApprove: string[] = [];
    if (waitsFor === 'approval') {
      for (const user of await this.access.approvers()) {
        if (!answered.has(user.id) && !(await this.eligibility.refusalFor(p, user))) mayApprove.push(user.login);
      }
    }
    await this.events.waiting(p, {
      for: waitsFor,
      waitingFor: reason,
      approvals: { needed, given: p.approvals.filter((a) => a.approved).length },
      mayApprove,
    });
  }
}
