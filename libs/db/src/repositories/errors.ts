import { Prisma } from '../generated/client';

/** A unique constraint said no: the thing already exists (from a model query or a raw one). */
export function isUniqueViolation(err: unknown): boolean {
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (err.code === 'P2002') return true;
  const meta = err.meta as
    { code?: string; driverAdapterError?: { cause?: { originalCode?: string; kind?: string } } } | undefined;
  return (
    err.code === 'P2010' &&
    (meta?.code === '23505' ||
      meta?.driverAdapterError?.cause?.originalCode === '23505' ||
      meta?.driverAdapterError?.cause?.kind === 'UniqueConstraintViolation')
  );
}

const UNREACHABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const UNREACHABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

/**
 * Postgres cannot be reached or went away mid-query (stopped, restarting, the pool cannot connect):
 * the request may succeed if sent again, unlike a query that Postgres refused.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as Record<string, unknown> | undefined, depth = 0; e && depth < 5; depth++) {
    if (e instanceof Prisma.PrismaClientInitializationError) return true;
    if (typeof e.code === 'string') {
      if (UNREACHABLE_CODES.has(e.code) || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'].includes(e.code)) return true;
      // Postgres's own: connection exceptions (08…) and shutting down / cannot connect now (57P0…).
      if (/^(08|57P0)/.test(e.code)) return true;
    }
    if (typeof e.kind === 'string' && UNREACHABLE_KINDS.has(e.kind)) return true;
    if (typeof e.originalCode === 'string' && /^(08|57P0)/.test(e.originalCode)) return true;
    if (
      typeof e.message === 'string' &&
      /Connection terminated|Can't reach database server|timeout exceeded when trying to connect/.test(e.message)
    )
      return true;
    const meta = e.meta as { driverAdapterError?: unknown } | undefined;
    e = (meta?.driverAdapterError ?? e.cause) as Record<string, unknown> | undefined;
  }
  return false;
}
