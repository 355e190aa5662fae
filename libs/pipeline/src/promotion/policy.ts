import { CronExpressionParser } from 'cron-parser';
import type { PipelineConfig, PipelineStage } from '../pipeline-file';

/** A stage's rules, as the pipeline file at the image's commit says, with an admin's overrides on top. */
export interface StagePolicy {
  name: string;
  /** The registry repository of the stage's tag; the image's own when unset. */
  repository?: string;
  auto: boolean;
  approvals: number;
  approvers?: string[];
  test: PipelineStage['test'];
  separationOfDuties: boolean;
  freeze: NonNullable<PipelineStage['freeze']>;
}

export function stagePolicy(
  pipeline: Pick<PipelineConfig, 'stages'>,
  stage: string,
  override?: Partial<StagePolicy> | null,
): StagePolicy {
  const index = pipeline.stages.findIndex((s) => s.name === stage);
  const fromFile = pipeline.stages[index];
  if (!fromFile) throw new Error(`the pipeline has no stage "${stage}"`);
  const isLast = index === pipeline.stages.length - 1;
  const base: StagePolicy = {
    name: stage,
    repository: fromFile.repository,
    auto: fromFile.auto,
    approvals: fromFile.approvals,
    approvers: fromFile.approvers,
    test: fromFile.test ?? [],
    // On by default for the last stage (production), off elsewhere, unless the file says.
    separationOfDuties: fromFile.separationOfDuties ?? isLast,
    freeze: fromFile.freeze ?? [],
  };
  return { ...base, ...(override ?? {}) };
}

/** When the freeze window that `now` falls in ends, or null when `now` is not frozen. */
export function frozenUntil(freeze: StagePolicy['freeze'], now: Date): Date | null {
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
  policy: Pick<StagePolicy, 'separationOfDuties' | 'approvers'>;
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
