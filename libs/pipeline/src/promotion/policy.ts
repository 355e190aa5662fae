import { CronExpressionParser } from 'cron-parser';
import type { StageRules } from './project-policy';

/** When the freeze window that `now` falls in ends, or null when `now` is not frozen. */
export function frozenUntil(freeze: StageRules['freeze'], now: Date): Date | null {
  let until: Date | null = null;
  for (const window of freeze) {
    let end: Date | null = null;
    if ('from' in window) {
      const from = new Date(window.from);
      const to = new Date(window.to);
      if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) continue;
      if (from <= now && now < to) end = to;
    } else {
      // The window opened at the cron's latest firing at or before now and lasts `duration`.
      const opened = CronExpressionParser.parse(window.cron, { currentDate: new Date(now.getTime() + 1), tz: 'UTC' })
        .prev()
        .toDate();
      const closes = new Date(opened.getTime() + window.duration);
      if (now < closes) end = closes;
    }
    if (end && (!until || end > until)) until = end;
  }
  return until;
}

/** GitHub-ish identities: a commit e-mail's local part (noreply "123+login" too), compared case-insensitively. */
export function identityOf(emailOrName: string): string {
  const local = emailOrName.includes('@') ? emailOrName.split('@')[0] : emailOrName;
  return local.replace(/^\d+\+/, '').toLowerCase();
}

export interface ApprovalCheck {
  approver: { id: string; login: string; githubLogin: string | null; role: string };
  requesterId: string | null;
  /** Pushers and authors of the commits being promoted (identities, see identityOf). */
  contributors: string[];
  policy: Pick<StageRules, 'separationOfDuties' | 'approvers'>;
}

/** Why this person may not approve, or null when they may. */
export function approvalRefusal(check: ApprovalCheck): string | null {
  const { approver, policy } = check;
  if (!['approver', 'admin'].includes(approver.role))
    return `${approver.login} is a ${approver.role}; approving needs the approver or admin role`;
  if (policy.approvers?.length && !policy.approvers.includes(approver.login)) {
    return `${approver.login} is not among this stage's approvers (${policy.approvers.join(', ')})`;
  }
  if (policy.separationOfDuties) {
    if (check.requesterId && check.requesterId === approver.id)
      return `${approver.login} requested this promotion and may not approve it`;
    const mine = [approver.login, approver.githubLogin].filter((x): x is string => !!x).map((x) => x.toLowerCase());
    const overlap = check.contributors.find((c) => mine.includes(c));
    if (overlap)
      return `${approver.login} pushed or authored a commit in this promotion (${overlap}) and may not approve it`;
  }
  return null;
}
