import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { AccessRepository, User } from '@dockyard/db';

export const SESSION_COOKIE = 'dockyard_session';
const LIFETIME_MS = 12 * 3600_000;

/** Dashboard sessions: an HMAC-signed cookie naming the user and its expiry; nothing stored. */
@Injectable()
export class Sessions {
  private readonly secret: Buffer;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly access: AccessRepository,
  ) {
    this.secret = config.http.sessionSecret ? Buffer.from(config.http.sessionSecret) : randomBytes(32);
  }

  /** The Set-Cookie value for a user who just logged in. */
  cookie(user: User): string {
    const expires = Date.now() + LIFETIME_MS;
    const value = `${user.id}.${expires}`;
    const signed = `${value}.${this.sign(value)}`;
    return `${SESSION_COOKIE}=${signed}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${LIFETIME_MS / 1000}`;
  }

  clear(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }

  async userOf(req: IncomingMessage): Promise<User | null> {
    const raw = (req.headers.cookie ?? '')
      .split(';')
      .map((c) => c.trim())
      .find((c) => c.startsWith(`${SESSION_COOKIE}=`))
      ?.slice(SESSION_COOKIE.length + 1);
    const [id, expires, mac] = raw?.split('.') ?? [];
    if (!id || !expires || !mac || Number(expires) < Date.now()) return null;
    const expected = Buffer.from(this.sign(`${id}.${expires}`));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    const user = await this.access.findUserById(id);
    return user && !user.disabledAt ? user : null;
  }

  private sign(value: string): string {
    return createHmac('sha256', this.secret).update(value).digest('base64url');
  }
}
