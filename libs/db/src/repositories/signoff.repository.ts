import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { Channel, SignOff, SignOffResult, User } from '../generated/client';
import { AuditEntry, AuditRepository } from './audit.repository';

export type SignOffWithUser = SignOff & { user: User | null };

/** Testers' sign-offs of a digest in a stage; each is recorded with its audit event, together. */
@Injectable()
export class SignOffRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditRepository,
  ) {}

  async record(
    data: {
      projectId: string;
      stage: string;
      digest: string;
      result: SignOffResult;
      comment?: string | null;
      userId: string | null;
      login: string;
      channel: Channel;
    },
    audit: AuditEntry,
  ): Promise<SignOff> {
    return this.prisma.$transaction(async (tx) => {
      const row = await tx.signOff.create({ data });
      await this.audit.record(audit, tx);
      return row;
    });
  }

  /** Each tester's latest word on the digest in the stage (a later "passes" replaces their own "fails"). */
  async latest(projectId: string, stage: string, digest: string): Promise<SignOffWithUser[]> {
    const rows = await this.prisma.signOff.findMany({
      where: { projectId, stage, digest },
      orderBy: { createdAt: 'desc' },
      include: { user: true },
    });
    const seen = new Set<string>();
    return rows.filter((r) => (seen.has(r.login) ? false : (seen.add(r.login), true)));
  }
}
