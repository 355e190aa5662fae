import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { HostState, HostStatus } from '../generated/client';

export interface HostObservation {
  state: HostState;
  runningDigest: string | null;
  healthy: boolean | null;
  detail: string | null;
}

/** What the drift reconciler last saw on each host. */
@Injectable()
export class HostStatusRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Record an observation; returns the state it replaced (null the first time), so a change can be audited once. */
  async record(targetId: string, seen: HostObservation, at: Date): Promise<HostState | null> {
    const before = await this.prisma.hostStatus.findUnique({ where: { targetId }, select: { state: true } });
    await this.prisma.hostStatus.upsert({
      where: { targetId },
      create: { targetId, ...seen, checkedAt: at },
      update: { ...seen, checkedAt: at },
    });
    return before?.state ?? null;
  }

  forTargets(targetIds: string[]): Promise<HostStatus[]> {
    return this.prisma.hostStatus.findMany({ where: { targetId: { in: targetIds } } });
  }
}
