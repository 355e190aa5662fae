/** What Dockyard reads of a GitHub push event. */
export interface PushEvent {
  ref: string;
  before?: string;
  after: string;
  deleted?: boolean;
  repository: {
    name: string;
    full_name?: string;
    clone_url?: string;
    default_branch?: string;
    owner: { login?: string; name?: string };
  };
  pusher?: { name?: string; email?: string };
  sender?: { login?: string };
  head_commit?: { id: string; message?: string; timestamp?: string } | null;
}

export type PushDecision =
  | {
      build: true;
      ref: string;
      branch: string | null;
      sha: string;
      pusher: string | null;
      message: string | null;
      /** When the head commit was made (where lead time to production starts). */
      committedAt: Date | null;
    }
  | { build: false; reason: string };

const ZERO_SHA = /^0{40}$/;

/** Whether a push should build, and of what. Pure: the intake use case does the recording. */
export function decidePush(event: PushEvent, options: { buildTags: boolean }): PushDecision {
  if (typeof event.ref !== 'string' || typeof event.after !== 'string') {
    return { build: false, reason: 'not a push event payload (no ref or after)' };
  }
  if (event.deleted || ZERO_SHA.test(event.after)) return { build: false, reason: `${event.ref} was deleted` };
  const isTag = event.ref.startsWith('refs/tags/');
  if (isTag && !options.buildTags) return { build: false, reason: `tag push (${event.ref}); tag builds are off` };
  if (!isTag && !event.ref.startsWith('refs/heads/'))
    return { build: false, reason: `not a branch or tag: ${event.ref}` };
  if (!/^[0-9a-f]{40}$/.test(event.after)) return { build: false, reason: `"${event.after}" is not a commit sha` };
  return {
    build: true,
    ref: event.ref,
    branch: isTag ? null : event.ref.slice('refs/heads/'.length),
    sha: event.after,
    pusher: event.pusher?.name ?? event.sender?.login ?? null,
    message: event.head_commit?.message?.split('\n')[0].slice(0, 500) ?? null,
    committedAt: commitTime(event.head_commit?.timestamp),
  };
}

function commitTime(timestamp: unknown): Date | null {
  if (typeof timestamp !== 'string') return null;
  const at = new Date(timestamp);
  return Number.isNaN(at.getTime()) ? null : at;
}

/** owner/name of the repository a push is for. */
export function repositoryOf(event: PushEvent): { owner: string; name: string } | null {
  const owner = event.repository?.owner?.login ?? event.repository?.owner?.name;
  const name = event.repository?.name;
  return owner && name ? { owner, name } : null;
}
