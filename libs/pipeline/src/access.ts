import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AccessRepository, Role, User } from '@dockyard/db';
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
}

export function scopesOfRole(role: Role): Scope[] {
  return {
    viewer: ['read'],
    developer: ['read', 'build', 'promote'],
    approver: ['read', 'build', 'promote', 'approve'],
    admin: ['admin'],
  }[role] as Scope[];
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** API tokens: shown once, stored as a SHA-256 hash, scoped, expiring, revocable. */
@Injectable()
export class AccessTokens {
  constructor(private readonly access: AccessRepository) {}

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

  /** Returns the token itself, which is never stored and cannot be shown again. */
  async issue(user: User, name: string, scopes: Scope[], expiresAt?: Date): Promise<{ token: string; id: string }> {
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
    return { token, id: row.id };
  }

  async authenticate(token: string): Promise<Actor> {
    const row = await this.access.findToken(hashToken(token));
    if (!row) throw new UnauthenticatedError('the API token is not known');
    if (row.revokedAt) throw new UnauthenticatedError('the API token was revoked');
    if (row.expiresAt && row.expiresAt <= new Date()) throw new UnauthenticatedError('the API token has expired');
    if (row.user.disabledAt) throw new UnauthenticatedError(`user ${row.user.login} is disabled`);
    void this.access.touchToken(row.id).catch(() => undefined);
    return { user: row.user, tokenId: row.id, scopes: row.scopes as Scope[], channel: 'api', label: row.user.login };
  }

  /** A chat bot's token acting for a named person: allowed only with the on-behalf scope. */
  async onBehalfOf(bot: Actor, login: string): Promise<Actor> {
    if (!AccessTokens.allows(bot, 'on-behalf')) {
      throw new ForbiddenError('X-On-Behalf-Of needs a token with the "on-behalf" scope');
    }
    const person = await this.access.findUser(login);
    if (!person || person.disabledAt) throw new ForbiddenError(`X-On-Behalf-Of names no active user "${login}"`);
    return { ...bot, user: person, channel: 'chat', label: `${bot.user.login} for ${person.login}` };
  }

  async revoke(tokenId: string, by: User): Promise<void> {
    const n = await this.access.revokeToken(tokenId, by.role === 'admin' ? undefined : by.id);
    if (!n) throw new NotFoundError(`no token ${tokenId} of yours to revoke`);
  }

  /** The admin scope includes every other. */
  static allows(actor: Actor, scope: Scope): boolean {
    return actor.scopes.includes(scope) || actor.scopes.includes('admin');
  }
}
