import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { Secret } from '../generated/client';
import { AuditEntry, AuditRepository } from './audit.repository';

/** Where a secret belongs: a project (its builds) or one environment of it (its containers). */
export interface SecretScope {
  projectId: string;
  /** The stage whose environment it belongs to; unset for the project's own. */
  stage?: string;
}

export interface SealedSecret {
  ciphertext: Uint8Array<ArrayBuffer>;
  iv: Uint8Array<ArrayBuffer>;
  authTag: Uint8Array<ArrayBuffer>;
  keyId: string;
}

/** What may be shown about a secret: never its value. */
export type SecretListing = Pick<Secret, 'name' | 'updatedAt' | 'updatedBy'>;

/** Encrypted secrets; each write and its audit event commit together. */
@Injectable()
export class SecretRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditRepository,
  ) {}

  async put(scope: SecretScope, name: string, sealed: SealedSecret, updatedBy: string, audit: AuditEntry) {
    const key = { projectId: scope.projectId, stage: scope.stage ?? '', name };
    return this.prisma.$transaction(async (tx) => {
      const row = await tx.secret.upsert({
        where: { projectId_stage_name: key },
        create: { ...key, ...sealed, updatedBy },
        update: { ...sealed, updatedBy },
        select: { name: true, updatedAt: true, updatedBy: true },
      });
      await this.audit.record(audit, tx);
      return row;
    });
  }

  /** Removes it; false when there was none. */
  async delete(scope: SecretScope, name: string, audit: AuditEntry): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.secret.deleteMany({
        where: { projectId: scope.projectId, stage: scope.stage ?? '', name },
      });
      if (count) await this.audit.record(audit, tx);
      return count > 0;
    });
  }

  list(scope: SecretScope): Promise<SecretListing[]> {
    return this.prisma.secret.findMany({
      where: { projectId: scope.projectId, stage: scope.stage ?? '' },
      select: { name: true, updatedAt: true, updatedBy: true },
      orderBy: { name: 'asc' },
    });
  }

  /** The sealed values, for the code that hands them to a build or a container. */
  sealed(scope: SecretScope): Promise<(SealedSecret & { name: string })[]> {
    return this.prisma.secret.findMany({
      where: { projectId: scope.projectId, stage: scope.stage ?? '' },
      select: { name: true, ciphertext: true, iv: true, authTag: true, keyId: true },
      orderBy: { name: 'asc' },
    });
  }
}
