import type { User } from '@dockyard/db';
import type { StageRules } from './project-policy';

export type SignOffRule = NonNullable<StageRules['signoff']>;

/** Who may sign off, in words: the listed people and roles, or any developer, approver or admin. */
export function testersOf(rule: SignOffRule | null): string {
  const who = [...(rule?.users ?? []), ...(rule?.roles ?? []).map((r) => `any ${r}`)];
  return who.length ? who.join(' or ') : 'a developer, approver or admin';
}

/**
 * Why this person's sign-off does not count, or null. `contributors`: the people who pushed or
 * authored what is promoted, when separation of duties is on (null: off).
 */
export function signOffRefusal(
  user: User | null,
  rule: SignOffRule | null,
  contributors: string[] | null,
): string | null {
  if (!user || user.disabledAt) return 'the tester is no longer a user';
  const listed = rule && (rule.users.length || rule.roles.length);
  const allowed = listed
    ? rule.users.includes(user.login) || (rule.roles as string[]).includes(user.role)
    : ['developer', 'approver', 'admin'].includes(user.role);
  if (!allowed) return `${user.login} may not sign off here (testers: ${testersOf(rule)})`;
  if (contributors) {
    const mine = [user.login, user.githubLogin].filter((x): x is string => !!x).map((x) => x.toLowerCase());
    const overlap = contributors.find((c) => mine.includes(c));
    if (overlap) return `${user.login} pushed or authored a commit in it (${overlap}) and may not sign it off`;
  }
  return null;
}
