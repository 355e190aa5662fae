import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { DeliveryOutcome, Prisma } from '../generated/client';
import { isUniqueViolation } from './errors';

export interface NewBuild {
  projectId: string;
  ref: string;
  branch: string | null;
  sha: string;
  pusher: string | null;
  message: string | null;
}

export type RecordedDelivery =
  | { duplicate: false; deliveryRowId: string; buildId: string | null; superseded: string[] }
  | { duplicate: true; buildId: string | null; outcome: DeliveryOutcome; reason: string | null };

@Injectable()
export class DeliveryRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Record a delivery and the build it asks for in one transaction. The unique delivery id makes
   * a redelivery a duplicate (answered with the original build), however close together they come.
   * A new build of a branch supersedes that branch's older builds still queued or running.
   */
  async record(delivery: {
    deliveryId: string;
    event: string;
    signature: string;
    outcome: DeliveryOutcome;
    reason: string | null;
    projectId: string | null;
    payload: Prisma.InputJsonValue;
    build: NewBuild | null;
  }): Promise<RecordedDelivery> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        const row = await tx.webhookDelivery.create({
          data: {
            deliveryId: delivery.deliveryId,
            event: delivery.event,
            signature: delivery.signature,
            outcome: delivery.outcome,
            reason: delivery.reason,
            projectId: delivery.projectId,
            payload: delivery.payload,
          },
        });
        if (!delivery.build) return { duplicate: false as const, deliveryRowId: row.id, buildId: null, superseded: [] };
        const build = await tx.build.create({ data: { ...delivery.build, trigger: 'push', deliveryId: row.id } });
        const superseded = delivery.build.branch
          ? await supersedeOlder(tx, delivery.build.projectId, delivery.build.branch, build.id)
          : [];
        return { duplicate: false as const, deliveryRowId: row.id, buildId: build.id, superseded };
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const original = await this.prisma.webhookDelivery.findUniqueOrThrow({
        where: { deliveryId: delivery.deliveryId },
        include: { builds: { select: { id: true }, orderBy: { createdAt: 'asc' }, take: 1 } },
      });
      return {
        duplicate: true,
        buildId: original.builds[0]?.id ?? null,
        outcome: original.outcome,
        reason: original.reason,
      };
    }
  }
}

/** Mark the branch's older unfinished builds superseded by `byBuildId`; returns their ids. */
export async function supersedeOlder(
  tx: Prisma.TransactionClient,
  projectId: string,
  branch: string,
  byBuildId: string,
): Promise<string[]> {
  const older = await tx.build.findMany({
    where: { projectId, branch, status: { in: ['queued', 'running'] }, id: { not: byBuildId } },
    select: { id: true },
  });
  if (!older.length) return [];
  await tx.build.updateMany({
    where: { id: { in: older.map((b) => b.id) }, status: { in: ['queued', 'running'] } },
    data: {
      status: 'superseded',
      supersededBy: byBuildId,
      reason: `superseded by build ${byBuildId}`,
      finishedAt: new Date(),
    },
  });
  return older.map((b) => b.id);
}
