import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AccessRepository, AuditRepository, Channel, Role, User } from '@dockyard/db';
import { ForbiddenError, InvalidRequestError, NotFoundError, UnauthenticatedError } from './errors';
import { hashPassword, verifyPassword } from './passwords';
export { ForbiddenError, UnauthenticatedError } from './errors';

/** `on-behalf`: a chat bot may name the person it acts for (X-On-Behalf-Of); policy applies to them. */
export const SCOPES = ['read', 'build', 'promote', 'approve', 'on-behalf', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Actor {
  /** The person policy is checked against: the token's owner, or whom a bot acts for. */
  user: User;
  tokenId: string;
  scopes: Scope[];
  channel: 'api' | 'chat' | 'dashboard';
  /** How the audit names them. */
  label: string;
  /** The token's own scopes, before the owner's role capped them (what a bot may lend on behalf). */
  tokenScopes?: Scope[];
}

export function scopesOfRole(role: Role): Scope[] {
  return {
    viewer: ['read'],
    developer: ['read', 'build', 'promote'],
    approver: ['read', 'build', 'promote', 'approve'],
    admin: ['admin'],
  }[role] as Scope[];
}

/** Every scope an admin's role allows (the admin scope includes every other). */
function expand(scopes: readonly Scope[]): Scope[] {
  return scopes.includes('admin') ? [...SCOPES] : [...scopes];
}

/**
 * What a token may do for its owner: its scopes, no more than the owner's role allows. `on-behalf`
 * is the token's own (a bot's user may be a viewer); what it lends is capped in onBehalfOf.
 */
export function effectiveScopes(tokenScopes: readonly Scope[], role: Role): Scope[] {
  const allowed = [...expand(scopesOfRole(role)), 'on-behalf'];
  if (tokenScopes.includes('admin') && role === 'admin') return ['admin'];
  return tokenScopes.filter((s) => allowed.includes(s));
}

/**
 * An actor's user as policy should see them: an admin acting without the admin scope (a narrower
 * token, or a bot acting for them) is treated as an approver, so no admin-only action passes.
 */
function capRole(user: User, scopes: readonly Scope[]): User {
  return user.role === 'admin' && !scopes.includes('admin') ? { ...user, role: 'approver' } : user;
}

/** Who changed access, as the audit trail names them; the CLI is "cli" through the system channel. */
export interface AccessChangedBy {
  actor: string;
  userId?: string | null;
  tokenId?: string | null;
  channel: Channel;
}
const CLI: AccessChangedBy = { actor: 'cli', channel: 'system' };

export function actorOf(a: Actor): AccessChangedBy {
  return { actor: a.label, userId: a.user.id, tokenId: a.tokenId || null, channel: a.channel };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** API tokens: shown once, stored as a SHA-256 hash, scoped, expiring, revocable. */
@Injectable()
export class AccessTokens {
  constructor(
    private readonly access: AccessRepository,
    private readonly audit: AuditRepository,
  ) {}

  async createUser(
    login: string,
    role: Role,
    extra: { githubLogin?: string; displayName?: string; password?: string } = {},
  ): Promise<User> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(login)) {
      throw new InvalidRequestError(`"${login}" is not a valid login`);
    }
    const { password, ...rest } = extra;
    let passwordHash: string | undefined;
    try {
      passwordHash = password ? await hashPassword(password) : undefined;
    } catch (err) {
      throw new InvalidRequestError((err as Error).message);
    }
    return this.access.createUser({ login, role, ...rest, passwordHash });
  }

  /** Dashboard log-in; the same answer for an unknown login and a wrong password. */
  async login(login: string, password: string): Promise<User> {
    const user = await this.access.findUser(login);
    const ok = await verifyPassword(password, user?.passwordHash ?? null);
    if (!user || !ok || user.disabledAt) throw new UnauthenticatedError('unknown login or wrong password');
    return user;
  }

  /** A person in the dashboard acts with the scopes of their role. */
  sessionActor(user: User): Actor {
    return { user, tokenId: '', scopes: scopesOfRole(user.role), channel: 'dashboard', label: user.login };
  }

  /** Returns the token itself, which is never stored and cannot be shown again; audited. */
  async issue(
    user: User,
    name: string,
    scopes: Scope[],
    expiresAt?: Date,
    by: AccessChangedBy = CLI,
  ): Promise<{ token: string; id: string }> {
    const unknown = scopes.filter((s) => !SCOPES.includes(s));
    if (unknown.length) throw new InvalidRequestError(`unknown scope(s): ${unknown.join(', ')}`);
    const prefix = randomBytes(4).toString('hex');
    const token = `dky_${prefix}_${randomBytes(24).toString('base64url')}`;
    const row = await this.access.createToken({
      userId: user.id,
      name,
      tokenHash: hashToken(token),
      prefix,
      scopes,
      expiresAt,
    });
    await this.audit.record({
      ...by,
      action: 'token.created',
      subject: row.id,
      detail: { owner: user.login, name, scopes, prefix, expiresAt: expiresAt?.toISOString() ?? null },
    });
    return { token, id: row.id };
  }

  async authenticate(token: string): Promise<Actor> {
    const row = await this.access.findToken(hashToken(token));
    if (!row) throw new UnauthenticatedError('the API token is not known');
    if (row.revokedAt) throw new UnauthenticatedError('the API token was revoked');
    if (row.expiresAt && row.expiresAt <= new Date()) throw new UnauthenticatedError('the API token has expired');
    if (row.user.disabledAt) throw new UnauthenticatedError(`user ${row.user.login} is disabled`);
    void this.access.touchToken(row.id).catch(() => undefined);
    const tokenScopes = row.scopes as Scope[];
    const scopes = effectiveScopes(tokenScopes, row.user.role);
    return {
      user: capRole(row.user, scopes),
      tokenId: row.id,
      scopes,
      tokenScopes,
      channel: 'api',
      label: row.user.login,
    };
  }

  /**
   * A chat bot's token acting for a named person: allowed only with the on-behalf scope, and only
   * what both the token and the person's role allow. Admin actions are never done on behalf.
   */
  async onBehalfOf(bot: Actor, login: string): Promise<Actor> {
    if (!AccessTokens.allows(bot, 'on-behalf')) {
      throw new ForbiddenError('X-On-Behalf-Of needs a token with the "on-behalf" scope');
    }
    const person = await this.access.findUser(login);
    if (!person || person.disabledAt) throw new ForbiddenError(`X-On-Behalf-Of names no active user "${login}"`);
    const lent = expand(bot.tokenScopes ?? bot.scopes);
    const personal = expand(scopesOfRole(person.role));
    const scopes = lent.filter((s) => s !== 'admin' && s !== 'on-behalf' && personal.includes(s));
    return {
      ...bot,
      user: capRole(person, scopes),
      scopes,
      tokenScopes: scopes,
      channel: 'chat',
      label: `${bot.user.login} for ${person.login}`,
    };
  }

  /**
   * Revoke a token: your own, or anyone's with the admin scope used directly (never by a bot acting
   * for someone); audited.
   */
  async revoke(tokenId: string, by: Actor): Promise<void> {
    if (by.channel === 'chat') throw new ForbiddenError('a bot acting for someone may not revoke tokens');
    const anyone = AccessTokens.allows(by, 'admin');
    const revoked = await this.access.revokeToken(tokenId, anyone ? undefined : by.user.id);
    if (!revoked) throw new NotFoundError(`no token ${tokenId} of yours to revoke`);
    await this.audit.record({
      ...actorOf(by),
      action: 'token.revoked',
      subject: tokenId,
      detail: { owner: revoked.user.login, name: revoked.name, prefix: revoked.prefix },
    });
  }

  /** The admin scope includes every other. */
  static allows(actor: Actor, scope: Scope): boolean {
    return actor.scopes.includes(scope) || actor.scopes.includes('admin');
  }
}
