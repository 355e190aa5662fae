import { Injectable } from '@nestjs/common';
import { AccessRepository, PromotionFull, User } from '@dockyard/db';
import { PromotionEvents, WaitingFacts } from '@dockyard/events';

/**
 * promotion.waiting, with who may approve it now: every active approver or admin the refusal logic
 * (role, the stage's approvers, separation of duties) lets through, and who has not answered yet.
 */
@Injectable()
export class WaitingNotice {
  constructor(
    private readonly access: AccessRepository,
    private readonly events: PromotionEvents,
  ) {}

  async publish(
    p: PromotionFull,
    wait: Omit<WaitingFacts, 'mayApprove' | 'approvals'> & { approvalsNeeded: number },
    refusal: (user: User) => Promise<string | null>,
  ): Promise<void> {
    const answered = new Set(p.approvals.map((a) => a.userId));
    const mayApprove: string[] = [];
    if (wait.for === 'approval') {
      for (const user of await this.access.approvers()) {
        if (!answered.has(user.id) && !(await refusal(user))) mayApprove.push(user.login);
      }
    }
    await this.events.waiting(p, {
      for: wait.for,
      waitingFor: wait.waitingFor,
      approvals: { needed: wait.approvalsNeeded, given: p.approvals.filter((a) => a.approved).length },
      mayApprove,
    });
  }
}
