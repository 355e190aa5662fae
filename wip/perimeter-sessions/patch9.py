import shutil
shutil.copy('/tmp/f9/same-origin.guard.ts','apps/api/src/auth/same-origin.guard.ts')
shutil.copy('/tmp/f9/security-headers.ts','apps/api/src/security-headers.ts')

p='apps/api/src/dashboard/html.ts'
s=open(p).read()
s=s.replace("const STYLE = `","export const DASHBOARD_STYLE = `")
s=s.replace("""        <style>
          ${new Html(STYLE)}
        </style>""","""        ${new Html(`<style>${DASHBOARD_STYLE}</style>`)}""")
s=s.replace("""export function layout(""","""/** The build page's live log: follows the build's log stream (its id is on #log) until it ends. */
export const LOG_SCRIPT = `
const log = document.getElementById('log');
const es = new EventSource('/api/v1/builds/' + log.dataset.build + '/logs?follow=1');
es.addEventListener('log', (e) => {
  log.textContent += JSON.parse(e.data).text;
  log.scrollTop = log.scrollHeight;
});
es.addEventListener('end', (e) => {
  document.getElementById('status').textContent = JSON.parse(e.data).status;
  es.close();
});`;

/** Every inline script the dashboard sends: the Content-Security-Policy allows these by hash, nothing else. */
export const DASHBOARD_SCRIPTS = [LOG_SCRIPT];

export const script = (code: (typeof DASHBOARD_SCRIPTS)[number]) => new Html(`<script>${code}</script>`);

export function layout(""")
open(p,'w').write(s)

p='apps/api/src/dashboard/dashboard.controller.ts'
s=open(p).read()
old_start=s.index("          <pre id=\"log\" aria-live=\"polite\"></pre>")
old_end=s.index("</script>`,", old_start)+len("</script>`")
s=s[:old_start]+"""          <pre id="log" aria-live="polite" data-build="${id}"></pre>
          ${script(LOG_SCRIPT)}`"""+s[old_end:]
s=s.replace("import { Html, ago, html, layout, short } from './html';","import { Html, LOG_SCRIPT, ago, html, layout, script, short } from './html';")
s=s.replace("import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';","import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Query, Req, Res, UseGuards } from '@nestjs/common';\nimport { ThrottlerGuard } from '@nestjs/throttler';")
s=s.replace("import { Sessions } from '../auth/sessions';","import { SameOriginGuard } from '../auth/same-origin.guard';\nimport { Sessions } from '../auth/sessions';")
s=s.replace("""@ApiExcludeController()
@Controller()
export class DashboardController {""","""@ApiExcludeController()
@Controller()
@UseGuards(SameOriginGuard)
export class DashboardController {""")
s=s.replace("""  @Post('login')
  async login(""","""  /** Rate-limited per login and per address (see ApiModule's ThrottlerModule). */
  @Post('login')
  @UseGuards(ThrottlerGuard)
  async login(""")
s=s.replace("""  @Post('logout')
  logout(@Res() res: Response) {
    res.setHeader('Set-Cookie', this.sessions.clear());""","""  /** Ends every session of this person on the server, not only this browser's cookie. */
  @Post('logout')
  async logout(@Req() req: Request, @Res() res: Response) {
    await this.sessions.end(req);
    res.setHeader('Set-Cookie', this.sessions.clear());""")
open(p,'w').write(s)

p='apps/api/src/auth/sessions.ts'
s=open(p).read()
s=s.replace("""/** Dashboard sessions: an HMAC-signed cookie naming the user and its expiry; nothing stored. */
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

  async userOf(req: IncomingMessage): Promise<User | null> {""","""/**
 * Dashboard sessions: an HMAC-signed cookie naming the user, their session version and its expiry.
 * Logging out raises the version in the database, so every cookie issued before stops working.
 */
@Injectable()
export class Sessions {
  private readonly secret: Buffer;
  private readonly attributes: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly access: AccessRepository,
  ) {
    this.secret = config.http.sessionSecret ? Buffer.from(config.http.sessionSecret) : randomBytes(32);
    const secure = config.http.publicUrl.startsWith('https:') ? '; Secure' : '';
    this.attributes = `Path=/; HttpOnly; SameSite=Strict${secure}`;
  }

  /** The Set-Cookie value for a user who just logged in. */
  cookie(user: User): string {
    const expires = Date.now() + LIFETIME_MS;
    const value = `${user.id}.${user.sessionVersion}.${expires}`;
    const signed = `${value}.${this.sign(value)}`;
    return `${SESSION_COOKIE}=${signed}; ${this.attributes}; Max-Age=${LIFETIME_MS / 1000}`;
  }

  clear(): string {
    return `${SESSION_COOKIE}=; ${this.attributes}; Max-Age=0`;
  }

  /** Log out: the cookie's user gets a new session version, so no cookie issued before works. */
  async end(req: IncomingMessage): Promise<void> {
    const user = await this.userOf(req);
    if (user) await this.access.endSessions(user.id, user.sessionVersion);
  }

  async userOf(req: IncomingMessage): Promise<User | null> {""")
s=s.replace("""    const [id, expires, mac] = raw?.split('.') ?? [];
    if (!id || !expires || !mac || Number(expires) < Date.now()) return null;
    const expected = Buffer.from(this.sign(`${id}.${expires}`));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    const user = await this.access.findUserById(id);
    return user && !user.disabledAt ? user : null;""","""    const [id, version, expires, mac] = raw?.split('.') ?? [];
    if (!id || !version || !expires || !mac || Number(expires) < Date.now()) return null;
    const expected = Buffer.from(this.sign(`${id}.${version}.${expires}`));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    const user = await this.access.findUserById(id);
    return user && !user.disabledAt && String(user.sessionVersion) === version ? user : null;""")
open(p,'w').write(s)

p='libs/db/src/repositories/access.repository.ts'
s=open(p).read()
s=s.replace("""  async touchToken(""","""  /** Invalidate every dashboard session of a user (the version in their cookies no longer matches). */
  async endSessions(userId: string, version: number): Promise<void> {
    await this.prisma.user.updateMany({ where: { id: userId, sessionVersion: version }, data: { sessionVersion: { increment: 1 } } });
  }

  async touchToken(""")
open(p,'w').write(s)

p='prisma/schema.prisma'
s=open(p).read()
s=s.replace("""  passwordHash String?
  disabledAt   DateTime?""","""  passwordHash String?
  /// Part of every dashboard cookie; logging out raises it, which ends all earlier sessions.
  sessionVersion Int      @default(0)
  disabledAt   DateTime?""")
open(p,'w').write(s)

p='libs/pipeline/src/passwords.ts'
s=open(p).read()
s=s.replace("""export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parts = stored?.split('$') ?? [];
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;""","""/** Checked against when there is no real hash (unknown login), so that takes as long as a wrong password. */
let dummy: Promise<string> | undefined;

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const real = stored?.split('$') ?? [];
  const usable = real.length === 6 && real[0] === 'scrypt';
  const parts = usable ? real : (await (dummy ??= hashPassword('no such user, no such password'))).split('$');""")
s=s.replace("""  return timingSafeEqual(actual, expected);""","""  return timingSafeEqual(actual, expected) && usable;""")
open(p,'w').write(s)

p='apps/api/src/api.module.ts'
s=open(p).read()
s=s.replace("import { TerminusModule } from '@nestjs/terminus';","import { TerminusModule } from '@nestjs/terminus';\nimport { ThrottlerModule } from '@nestjs/throttler';\nimport type { Request } from 'express';")
s=s.replace("""  imports: [TerminusModule.forRoot({ logger: false }), PipelineModule],""","""  imports: [
    TerminusModule.forRoot({ logger: false }),
    // Log-in attempts (the only route with ThrottlerGuard): per address, and per login whatever the address.
    ThrottlerModule.forRoot({
      throttlers: [
        { name: 'address', ttl: 15 * 60_000, limit: 30 },
        {
          name: 'login',
          ttl: 15 * 60_000,
          limit: 10,
          getTracker: (req: Record<string, unknown>) =>
            `login:${String((req as unknown as Request).body?.login ?? '').toLowerCase()}`,
        },
      ],
    }),
    PipelineModule,
  ],""")
s=s.replace("import { Sessions } from './auth/sessions';","import { SameOriginGuard } from './auth/same-origin.guard';\nimport { Sessions } from './auth/sessions';")
s=s.replace("""    Sessions,
    { provide: APP_GUARD""","""    Sessions,
    SameOriginGuard,
    { provide: APP_GUARD""")
open(p,'w').write(s)

p='apps/api/src/http-app.ts'
s=open(p).read()
s=s.replace("import { mountQueuesBoard } from './queues-board';","import { mountQueuesBoard } from './queues-board';\nimport { securityHeaders } from './security-headers';")
s=s.replace("""  app.disable('x-powered-by');""","""  app.disable('x-powered-by');
  app.use(...securityHeaders());""")
open(p,'w').write(s)
