/** A clone URL Dockyard will not hand to git: the message says why. */
export class CloneUrlRefusedError extends Error {}

const SCP_STYLE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!\/\/)[A-Za-z0-9._~/-]+$/;

/**
 * The clone URLs Dockyard fetches from: https://, ssh:// and scp-style (git@host:path); file://
 * only when local repositories are allowed (GIT_ALLOW_FILE_URLS, for development and tests).
 * Nothing git would read as an option, a helper transport (ext::, fd::) or a bare path.
 */
export function checkCloneUrl(url: string, opts: { allowFile: boolean }): void {
  const refuse = (why: string): never => {
    throw new CloneUrlRefusedError(`clone URL "${redactUrl(url)}" is refused: ${why}`);
  };
  if (!url || url.length > 2048) refuse('it must be 1 to 2048 characters');
  if (url.startsWith('-')) refuse('it starts with "-"');
  if ([...url].some((c) => c <= ' ' || c === '\u007f')) refuse('it contains whitespace or control characters');
  if (SCP_STYLE.test(url)) {
    if (url.slice(url.indexOf(':') + 1).startsWith('-')) refuse('its path starts with "-"');
    return;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse('use https://, ssh:// or git@host:path');
  }
  if (parsed.protocol === 'file:') {
    if (!opts.allowFile) refuse("file:// URLs read this host's disk; set GIT_ALLOW_FILE_URLS=true for local use only");
    return;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'ssh:') refuse('use https://, ssh:// or git@host:path');
  if (!parsed.hostname || parsed.hostname.startsWith('-')) refuse('it names no host');
  if (parsed.pathname.length < 2) refuse('it names no repository');
}

/** The URL without `user:password@`, for everything a person or a log sees. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/** GitHub's ref for a pull request's head commit, in the base repository. */
export const PULL_REQUEST_HEAD = /^refs\/pull\/(\d{1,9})\/head$/;

/** A branch, a tag, or a pull request's head: what Dockyard builds. */
export function isBuildableRef(ref: string): boolean {
  return isSafeRef(ref) || PULL_REQUEST_HEAD.test(ref);
}

/** A ref Dockyard passes to git: a branch or tag name, never something git reads as an option. */
export function isSafeRef(ref: string): boolean {
  return (
    /^refs\/(heads|tags)\/[A-Za-z0-9._/-]+$/.test(ref) &&
    !/(^|\/)[-.]|\.\.|\/\/|\.lock(\/|$)|\/$|\.$/.test(ref.slice(5))
  );
}
