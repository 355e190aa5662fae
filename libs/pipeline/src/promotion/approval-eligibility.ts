import { Injectable } from '@nestjs/common';
import type { PromotionFull, User } from '@dockyard/db';
import { approvalRefusal } from './policy';
import { ProjectPolicies } from './project-policies';
import type { StageRules } from './project-policy';
import { RangeContributors } from './range-contributors';

export type ApprovalCount = { valid: number; discounted: string[] } | { unreadable: string };

/** Who may approve a promotion under its stage's rules (role, approvers, separation of duties). */
@Injectable()
export class ApprovalEligibility {
  constructor(
    private readonly contributors: RangeContributors,
    private readonly policies: ProjectPolicies,
  ) {}

  /** whyNot under the rules in force now (the dashboard says it on a disabled button). */
  async refusalFor(p: PromotionFull, user: User): Promise<string | null> {
    const { rules } = await this.policies.forImage(p.project, p.image);
    const stage = rules.stages.find((s) => s.name === p.toStage.name);
    return stage ? this.whyNot(p, user, stage) : `${p.toStage.name} is no longer a stage of this project`;
  }

  /**
   * Why this person may not approve or reject it, or null. History that cannot be read does not refuse
   * here (the approvals gate makes the promotion wait on it instead).
   */
  async whyNot(p: PromotionFull, user: User, stage: StageRules): Promise<string | null> {
    const found = stage.separationOfDuties ? await this.contributors.of(p) : { people: [] };
    return approvalRefusal({
      approver: user,
      requesterId: p.requestedById,
      contributors: 'people' in found ? found.people : [],
      policy: stage,
    });
  }

  /** The approvals that count now: each recorded "yes" checked again under today's rules. */
  async count(p: PromotionFull, stage: StageRules): Promise<ApprovalCount> {
    const yes = p.approvals.filter((a) => a.approved);
    if (!yes.length) return { valid: 0, discounted: [] };
    const found = stage.separationOfDuties ? await this.contributors.of(p) : { people: [] };
    if ('unreadable' in found) return found;
    const discounted: string[] = [];
    let valid = 0;
    for (const a of yes) {
      const why = approvalRefusal({
        approver: a.user,
        requesterId: p.requestedById,
        contributors: found.people,
        policy: stage,
      });
      if (why) discounted.push(why);
      else valid++;
    }
    return { valid, discounted };
  }
}
