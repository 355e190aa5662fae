import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Request } from 'express';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { AccessRepository, User } from '@dockyard/db';

export const SESSION_COOKIE = 'dockyard_session';
const LIFETIME_MS = 12 * 3600_000;

/**
 * Dashboard sessions: an HMAC-signed cookie naming the user, their session version and its expiry.
 * Logging out raises the version in the database, so every cookie issued before stops working.
 */
@Injectable()
export class Sessions {
  private readonly secret: Buffer;
  private readonly publicHttps: boolean;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly access: AccessRepository,
  ) {
    this.secret = config.http.sessionSecret ? Buffer.from(config.http.sessionSecret) : randomBytes(32);
    this.publicHttps = config.http.publicUrl.startsWith('https:');
  }

  /** The Set-Cookie value for a user who just logged in (over `req`). */
  cookie(user: User, req: Request): string {
    const expires = Date.now() + LIFETIME_MS;
    const value = `${user.id}.${user.sessionVersion}.${expires}`;
    const signed = `${value}.${this.sign(value)}`;
    return `${SESSION_COOKIE}=${signed}; ${this.attributes(req)}; Max-Age=${LIFETIME_MS / 1000}`;
  }

  clear(req: Request): string {
    return `${SESSION_COOKIE}=; ${this.attributes(req)}; Max-Age=0`;
  }

  /** Log out: the cookie's user gets a new session version, so no cookie issued before works any more. */
  async end(req: Request): Promise<void> {
    const user = await this.userOf(req);
    if (user) await this.access.endSessions(user.id);
  }

  /** `Secure` when Dockyard is reached over https: PUBLIC_URL says so, or the request (or a trusted proxy) does. */
  private attributes(req: Request): string {
    return `Path=/; HttpOnly; SameSite=Strict${this.publicHttps || req.secure ? '; Secure' : ''}`;
  }

  async userOf(req: IncomingMessage): Promise<User | null> {
    const raw = (req.headers.cookie ?? '')
      .split(';')
      .map((c) => c.trim())
      .find((c) => c.startsWith(`${SESSION_COOKIE}=`))
      ?.slice(SESSION_COOKIE.length + 1);
    const [id, version, expires, mac] = raw?.split('.') ?? [];
    if (!id || !version || !expires || !mac || Number(expires) < Date.now()) return null;
    const expected = Buffer.from(this.sign(`${id}.${version}.${expires}`));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    const user = await this.access.findUserById(id);
    return user && !user.disabledAt && String(user.sessionVersion) === version ? user : null;
  }

  private sign(value: string): string {
    return createHmac('sha256', this.secret).update(value).digest('base64url');
  }
}
