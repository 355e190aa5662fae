import type { Logger } from '@nestjs/common';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import type { AppConfig } from '@dockyard/config';
import { withDeadline } from '@dockyard/deadline';

/**
 * fetch with a deadline on each request (GITHUB_TIMEOUT, the body included), and the request's own
 * signal (Octokit's `request: { signal }`) still able to cancel it: a GitHub that stops answering
 * fails the call with a named error and never holds a worker slot.
 */
export function boundedFetch(ms: number): typeof fetch {
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const what = `GitHub ${init?.method ?? 'GET'} ${new URL(url).pathname}`;
    return withDeadline(
      what,
      ms,
      async (signal) => {
        const res = await fetch(input, { ...init, signal });
        // Read the body under the same deadline: a peer may stop halfway through it.
        const body = await res.arrayBuffer();
        return new Response(res.status === 204 || res.status === 304 ? null : body, {
          status: res.status,
          statusText: res.statusText,
          headers: res.headers,
        });
      },
      init?.signal ?? undefined,
    );
  };
}

/** An Octokit for the configured GitHub (a token or a GitHub App), or undefined when neither is set. */
export function githubClient(config: AppConfig, logger: Logger): Octokit | undefined {
  const { token, app } = config.github;
  if (!token && !app) return undefined;
  return new Octokit({
    baseUrl: config.github.apiUrl,
    // A GitHub App signs a JWT and trades it for installation tokens, renewed as they expire.
    ...(app ? { authStrategy: createAppAuth, auth: app } : { auth: token }),
    userAgent: 'dockyard',
    request: { retries: 0, fetch: boundedFetch(config.github.timeout) },
    // Failures are retried by the statuses queue; they are worth a warning, not console noise.
    log: {
      debug: () => undefined,
      info: () => undefined,
      warn: (message: string) => logger.warn(message),
      error: (message: string) => logger.warn(message),
    },
  });
}
