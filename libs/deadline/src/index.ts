/**
 * Deadlines and cancellation for every call that leaves the process (Docker Engine, registry, git,
 * GitHub): one AbortSignal says "stop now", whether the caller cancelled or time ran out, and the
 * I/O classes hand it to their clients (dockerode `abortSignal`, fetch `signal`, spawn `signal`).
 */

/** A call that did not answer in time. `what` names the call, so a build log says which one hung. */
export class DeadlineExceededError extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what}: no answer within ${ms} ms`);
  }
}

/** The caller cancelled (a build was cancelled or superseded, a worker is shutting down). */
export class CancelledError extends Error {
  constructor(what: string) {
    super(`${what}: cancelled`);
  }
}

/** A signal that fires when `ms` have passed or when any of `signals` fires, whichever is first. */
export function deadlineSignal(ms: number, ...signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any([AbortSignal.timeout(ms), ...signals.filter((s): s is AbortSignal => !!s)]);
}

/**
 * Await `work` for at most `ms`, and not past `signal`: the call is given a signal that fires on
 * either, so the client can drop its connection, and the answer is a named error in both cases
 * even when the client ignores its signal (a peer that stopped answering cannot hold the caller).
 */
export async function withDeadline<T>(
  what: string,
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  if (signal?.aborted) throw new CancelledError(what);
  const timeout = new AbortController();
  const combined = AbortSignal.any([timeout.signal, ...(signal ? [signal] : [])]);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timeout.abort();
      reject(new DeadlineExceededError(what, ms));
    }, ms);
    onAbort = () => reject(new CancelledError(what));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  const running = work(combined);
  running.catch(() => undefined);
  try {
    return await Promise.race([running, stopped]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
