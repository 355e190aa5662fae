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
