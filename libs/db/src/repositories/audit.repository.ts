import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { AuditEvent, Channel, Prisma } from '../generated/client';

export interface AuditEntry {
  actor: string;
  userId?: string | null;
  tokenId?: string | null;
  channel: Channel;
  action: string;
  projectId?: string | null;
  subject?: string | null;
  detail?: Prisma.InputJsonValue;
}

/** The audit trail: every decision, who made it, when, through which channel. Append only. */
@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  async record(entry: AuditEntry, tx: Prisma.TransactionClient = this.prisma): Promise<void> {
    await tx.auditEvent.create({ data: entry });
  }

  list(filter: { projectId?: string; subject?: string; take: number; before?: bigint }): Promise<AuditEvent[]> {
    return this.prisma.auditEvent.findMany({
      where: {
        projectId: filter.projectId,
        subject: filter.subject,
        id: filter.before ? { lt: filter.before } : undefined,
      },
      orderBy: { id: 'desc' },
      take: filter.take,
    });
  }
}
