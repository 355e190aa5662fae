import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AccessRepository, Role, User } from '@dockyard/db';
import { InvalidRequestError } from './errors';

export const SCOPES = ['read', 'build', 'promote', 'approve', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Actor {
  user: User;
  tokenId: string;
  scopes: Scope[];
}

export class UnauthenticatedError extends Error {}
export class ForbiddenError extends Error {}

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
    extra: { githubLogin?: string; displayName?: string } = {},
  ): Promise<User> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(login))
      throw new InvalidRequestError(`"${login}" is not a valid login`);
    return this.access.createUser({ login, role, ...extra });
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
    return { user: row.user, tokenId: row.id, scopes: row.scopes as Scope[] };
  }

  /** The admin scope includes every other. */
  static allows(actor: Actor, scope: Scope): boolean {
    return actor.scopes.includes(scope) || actor.scopes.includes('admin');
  }
}
