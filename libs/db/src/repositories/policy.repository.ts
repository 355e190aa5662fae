import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { PolicyVersion, Prisma } from '../generated/client';
import type { AuditEntry } from './audit.repository';

/** Projects' policies, versioned: a change appends a version; nothing is overwritten. */
@Injectable()
export class PolicyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The version in force (the newest), or null while the project has the default policy. */
  current(projectId: string): Promise<PolicyVersion | null> {
    return this.prisma.policyVersion.findFirst({ where: { projectId }, orderBy: { version: 'desc' } });
  }

  history(projectId: string, take = 50): Promise<PolicyVersion[]> {
    return this.prisma.policyVersion.findMany({ where: { projectId }, orderBy: { version: 'desc' }, take });
  }

  /**
   * Append a version, line the project's stage rows up with its stage names (a stage it no longer lists
   * keeps its history at a negative position) and audit it, in one transaction; versions of one project
   * are serialized by an advisory lock so two admins never write the same number.
   */
  append(input: {
    projectId: string;
    policy: Prisma.InputJsonValue;
    stageNames: string[];
    createdBy: string;
    userId: string | null;
    comment?: string | null;
    audit: Omit<AuditEntry, 'detail'>;
  }): Promise<PolicyVersion> {
    const { projectId, stageNames } = input;
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`policy:${projectId}`}, 0))`;
      const last = await tx.policyVersion.findFirst({ where: { projectId }, orderBy: { version: 'desc' } });
      const row = await tx.policyVersion.create({
        data: {
          projectId,
          version: (last?.version ?? 1) + 1,
          policy: input.policy,
          createdBy: input.createdBy,
          userId: input.userId,
          comment: input.comment ?? null,
        },
      });
      const existing = await tx.stage.findMany({ where: { projectId } });
      for (const stage of existing.filter((s) => !stageNames.includes(s.name)))
        await tx.stage.update({ where: { id: stage.id }, data: { position: -1 - Math.abs(stage.position) } });
      for (const [position, name] of stageNames.entries())
        await tx.stage.upsert({
          where: { projectId_name: { projectId, name } },
          create: { projectId, name, position },
          update: { position },
        });
      await tx.auditEvent.create({
        data: {
          ...input.audit,
          detail: { version: row.version, policy: input.policy, comment: input.comment ?? null },
        },
      });
      return row;
    });
  }
}
