import { ExecutionContext, Injectable } from '@nestjs/common';
import {
  ThrottlerException,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
} from '@nestjs/throttler';
import type { Request, Response } from 'express';
import type { AppConfig } from '@dockyard/config';

const BY_LOGIN = 'login:';

/**
 * Log-in attempts, counted per address (the client's, through TRUST_PROXY) and per login whatever the
 * address (@nestjs/throttler, in memory). Over either limit: 429 with Retry-After and which limit.
 */
export function loginThrottlers({ http }: AppConfig): ThrottlerModuleOptions {
  const { perLogin, perAddress, windowMs } = http.loginAttempts;
  return [
    { name: 'address', ttl: windowMs, limit: perAddress },
    {
      name: 'login',
      ttl: windowMs,
      limit: perLogin,
      getTracker: (req) =>
        `${BY_LOGIN}${String((req as Request).body?.login ?? '')
          .trim()
          .toLowerCase()}`,
    },
  ];
}

/** ThrottlerGuard for the log-in form, answering as Dockyard does: one Retry-After, and the reason. */
@Injectable()
export class LoginThrottle extends ThrottlerGuard {
  protected override async throwThrottlingException(
    context: ExecutionContext,
    limit: ThrottlerLimitDetail,
  ): Promise<void> {
    context.switchToHttp().getResponse<Response>().setHeader('Retry-After', String(limit.timeToBlockExpire));
    const which = limit.tracker.startsWith(BY_LOGIN) ? 'for this login' : 'from this address';
    throw new ThrottlerException(`too many log-in attempts ${which}; try again in ${limit.timeToBlockExpire} s`);
  }
}
