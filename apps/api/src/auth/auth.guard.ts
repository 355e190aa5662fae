import { CanActivate, ExecutionContext, Injectable, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AccessTokens, Actor, ForbiddenError, Scope, UnauthenticatedError } from '@dockyard/pipeline';

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
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const scope = this.reflector.getAllAndOverride<Scope | undefined>(SCOPE_KEY, [ctx.getHandler(), ctx.getClass()]);
    if (!scope) return true;
    const req = ctx.switchToHttp().getRequest<Request & { actor?: Actor }>();
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new UnauthenticatedError('send an API token as "Authorization: Bearer <token>"');
    let actor = await this.tokens.authenticate(match[1]);
    const onBehalf = req.headers['x-on-behalf-of'];
    if (typeof onBehalf === 'string' && onBehalf) actor = await this.tokens.onBehalfOf(actor, onBehalf);
    if (!AccessTokens.allows(actor, scope)) {
      throw new ForbiddenError(`this token lacks the "${scope}" scope (it has: ${actor.scopes.join(', ') || 'none'})`);
    }
    req.actor = actor;
    return true;
  }
}
