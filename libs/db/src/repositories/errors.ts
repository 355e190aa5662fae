import { Prisma } from '../generated/client';

/** A unique constraint said no: the thing already exists. */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}
