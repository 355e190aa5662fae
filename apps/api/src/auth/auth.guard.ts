import { CanActivate, ExecutionContext, Injectable, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AccessTokens, Actor, ForbiddenError, Scope, UnauthenticatedError } from '@dockyard/pipeline';
import { Sessions } from './sessions';

const SCOPE_KEY = 'dockyard:scope';

/** The scope a route needs; routes without one are public (webhooks, health). */
export const RequireScope = (scope: Scope) => SetMetadata(SCOPE_KEY, scope);

export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  return ctx.switchToHttp().getRequest<Request & { actor: Actor }>().actor;
});

/** Bearer API tokens: 401 without a good one, 403 with the reason when its scope is not enough. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokens,
    private readonly sessions: Sessions,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const scope = this.reflector.getAllAndOverride<Scope | undefined>(SCOPE_KEY, [ctx.getHandler(), ctx.getClass()]);
    if (!scope) return true;
    const req = ctx.switchToHttp().getRequest<Request & { actor?: Actor }>();
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    let actor: Actor;
    if (match) {
      actor = await this.tokens.authenticate(match[1]);
    } else {
      // The dashboard's own calls (live logs) ride on its session cookie.
      const user = header ? null : await this.sessions.userOf(req);
      if (!user) throw new UnauthenticatedError('send an API token as "Authorization: Bearer <token>"');
      actor = this.tokens.sessionActor(user);
    }
    const onBehalf = req.headers['x-on-behalf-of'];
    if (typeof onBehalf === 'string' && onBehalf) actor = await this.tokens.onBehalfOf(actor, onBehalf);
    if (!AccessTokens.allows(actor, scope)) {
      throw new ForbiddenError(`this token lacks the "${scope}" scope (it has: ${actor.scopes.join(', ') || 'none'})`);
    }
    req.actor = actor;
    return true;
  }
}
