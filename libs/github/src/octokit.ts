import type { Logger } from '@nestjs/common';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import type { AppConfig } from '@dockyard/config';

/** An Octokit for the configured GitHub (a token or a GitHub App), or undefined when neither is set. */
export function githubClient(config: AppConfig, logger: Logger): Octokit | undefined {
  const { token, app } = config.github;
  if (!token && !app) return undefined;
  return new Octokit({
    baseUrl: config.github.apiUrl,
    // A GitHub App signs a JWT and trades it for installation tokens, renewed as they expire.
    ...(app ? { authStrategy: createAppAuth, auth: app } : { auth: token }),
    userAgent: 'dockyard',
    request: { retries: 0 },
    // Failures are retried by the statuses queue; they are worth a warning, not console noise.
    log: {
      debug: () => undefined,
      info: () => undefined,
      warn: (message: string) => logger.warn(message),
      error: (message: string) => logger.warn(message),
    },
  });
}
