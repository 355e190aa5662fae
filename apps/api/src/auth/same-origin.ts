import type { NextFunction, Request, Response } from 'express';
import { SESSION_COOKIE } from './sessions';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** What a page on another site can send without asking first (CORS "simple" requests). */
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/**
 * CSRF defence: a request that changes something and rides on the session cookie, or comes as a
 * form, must say (Origin, or Referer when a browser leaves Origin out) that it comes from Dockyard's
 * own pages: PUBLIC_URL's origin or the host it was sent to. API calls with a token are not
 * concerned (no browser sends those by itself), nor are the signed webhooks.
 */
export function sameOrigin(publicUrl: string, except: string[]) {
  const publicOrigin = new URL(publicUrl).origin;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (SAFE_METHODS.has(req.method) || except.includes(req.path)) return next();
    const bySession = !req.headers.authorization && cookieNames(req).includes(SESSION_COOKIE);
    if (!bySession && !req.is(FORM_TYPES)) return next();
    const from = originOf(req.headers.origin) ?? originOf(req.headers.referer);
    if (from && (from === publicOrigin || from === `${req.protocol}://${req.get('host')}`)) return next();
    const message = from
      ? `a form sent from ${from} is refused: only Dockyard's own pages may send it`
      : 'a form without an Origin is refused';
    res.status(403).json({ statusCode: 403, error: 'Forbidden', message });
  };
}

function cookieNames(req: Request): string[] {
  return (req.headers.cookie ?? '').split(';').map((c) => c.split('=')[0].trim());
}

function originOf(value: string | undefined): string | null {
  if (!value || value === 'null') return null;
  try {
    return new URL(value).origin;
  } catch {
    return null;
  }
}
