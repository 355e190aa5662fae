/** What Dockyard reads of a GitHub pull_request event. */
export interface PullRequestEvent {
  action: string;
  number: number;
  pull_request: {
    title?: string;
    user?: { login?: string };
    head: { sha: string; ref?: string; repo: { full_name?: string } | null };
    base: { ref?: string; repo: { full_name?: string } | null };
  };
  repository: { name: string; full_name?: string; owner: { login?: string; name?: string } };
  sender?: { login?: string };
}

export type PullRequestDecision =
  | {
      build: true;
      number: number;
      ref: string;
      sha: string;
      /** The head lives in another repository: its code must not see the project's secrets. */
      fromFork: boolean;
      author: string | null;
      title: string | null;
    }
  | { build: false; reason: string };

const BUILT_ACTIONS = ['opened', 'synchronize', 'reopened'];

/** Whether a pull_request delivery should build its head. Pure: the intake use case records it. */
export function decidePullRequest(event: PullRequestEvent): PullRequestDecision {
  const pr = event.pull_request;
  if (typeof event.action !== 'string' || !pr?.head || typeof event.number !== 'number') {
    return { build: false, reason: 'not a pull_request event payload' };
  }
  if (!BUILT_ACTIONS.includes(event.action)) {
    return {
      build: false,
      reason: `pull request #${event.number} ${event.action}: only opened, synchronize and reopened build`,
    };
  }
  if (!/^[0-9a-f]{40}$/.test(pr.head.sha ?? ''))
    return { build: false, reason: `"${pr.head.sha}" is not a commit sha` };
  const base = pr.base?.repo?.full_name ?? event.repository.full_name;
  return {
    build: true,
    number: event.number,
    // GitHub keeps every pull request's head in the base repository under this ref.
    ref: `refs/pull/${event.number}/head`,
    sha: pr.head.sha,
    // A deleted fork leaves head.repo null: still not the base repository.
    fromFork: !pr.head.repo?.full_name || pr.head.repo.full_name !== base,
    author: pr.user?.login ?? event.sender?.login ?? null,
    title: pr.title?.split('\n')[0].slice(0, 500) ?? null,
  };
}
