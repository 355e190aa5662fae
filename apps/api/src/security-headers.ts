import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { DASHBOARD_SCRIPTS, DASHBOARD_STYLE } from './dashboard/html';
import { BOARD_PATH } from './queues-board';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Pages with inline scripts and styles of their own (Bull Board, Swagger UI) keep helmet's other headers. */
const OWN_POLICY = [BOARD_PATH, '/api/docs'];

/**
 * Security headers by helmet: no framing anywhere, no MIME sniffing, the referrer only to Dockyard
 * itself (so browsers still send its forms' Origin), HSTS when PUBLIC_URL is https, and on the
 * dashboard a Content-Security-Policy that allows its own style and scripts (by hash) and nothing else.
 */
export function securityHeaders(publicUrl: string): ((req: Request, res: Response, next: NextFunction) => void)[] {
  const everywhere = helmet({
    contentSecurityPolicy: false,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'same-origin' },
    strictTransportSecurity: publicUrl.startsWith('https:'),
  });
  const csp = helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", ...DASHBOARD_SCRIPTS.map(sha256)],
      styleSrc: ["'self'", sha256(DASHBOARD_STYLE)],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      objectSrc: ["'none'"],
    },
  });
  return [
    everywhere,
    (req, res, next) => (OWN_POLICY.some((p) => req.path.startsWith(p)) ? next() : csp(req, res, next)),
  ];
}
