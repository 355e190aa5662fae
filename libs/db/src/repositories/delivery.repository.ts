import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import { Prisma } from '../generated/client';
import type { DeliveryOutcome } from '../generated/client';
import { isUniqueViolation } from './errors';

export interface NewBuild {
  projectId: string;
  trigger: 'push' | 'pull_request';
  pullRequest?: number | null;
  fromFork?: boolean;
  ref: string;
  branch: string | null;
  sha: string;
  pusher: string | null;
  message: string | null;
  committedAt?: Date | null;
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
   * A new build of a branch (or of a pull request) supersedes its older builds still queued or running.
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
      if (!delivery.build) {
        const created = await this.prisma.webhookDelivery.create({
          data: {
            deliveryId: delivery.deliveryId,
            event: delivery.event,
            signature: delivery.signature,
            outcome: delivery.outcome,
            reason: delivery.reason,
            projectId: delivery.projectId,
            payload: delivery.payload,
          },
          select: { id: true },
        });
        return { duplicate: false, deliveryRowId: created.id, buildId: null, superseded: [] };
      }
      return await this.recordWithBuild(delivery, delivery.build);
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

  /** Which of these delivery ids (X-GitHub-Delivery) Dockyard has recorded. */
  async known(deliveryIds: string[]): Promise<Set<string>> {
    if (!deliveryIds.length) return new Set();
    const rows = await this.prisma.webhookDelivery.findMany({
      where: { deliveryId: { in: deliveryIds } },
      select: { deliveryId: true },
    });
    return new Set(rows.map((r) => r.deliveryId));
  }

  /**
   * The webhook hot path in one statement (one round trip, atomic): the delivery, its build, and
   * the branch's older unfinished builds marked superseded. A push of a (project, ref, sha) that
   * already has a build is a duplicate, whatever its delivery id (a replayed, re-signed body must not
   * rebuild an old commit into dev): the unique "pushKey" makes that hold under concurrency too.
   * Hand-written SQL because an interactive transaction costs five round trips and holds a pooled
   * connection throughout (bench/webhook-ingest).
   */
  private async recordWithBuild(
    d: {
      deliveryId: string;
      event: string;
      signature: string;
      outcome: DeliveryOutcome;
      reason: string | null;
      payload: Prisma.InputJsonValue;
    },
    b: NewBuild,
  ): Promise<RecordedDelivery> {
    const deliveryRowId = randomUUID();
    const buildId = randomUUID();
    const pushKey = pushKeyOf(b.projectId, b.ref, b.sha);
    const already = `${b.ref} at ${b.sha.slice(0, 12)} already has a build; ask for a retry to build it again`;
    const rows = await this.prisma.$queryRaw<{ built: string | null; earlier: string | null; superseded: string[] }[]>(
      Prisma.sql`
      WITH earlier AS (
        SELECT "id" FROM "Build" WHERE "pushKey" = ${pushKey} LIMIT 1
      ), delivery AS (
        INSERT INTO "WebhookDelivery" ("id", "deliveryId", "event", "signature", "outcome", "reason", "projectId", "payload")
        SELECT ${deliveryRowId}, ${d.deliveryId}, ${d.event}, ${d.signature},
               CASE WHEN EXISTS (SELECT 1 FROM earlier) THEN 'duplicate'::"DeliveryOutcome" ELSE ${d.outcome}::"DeliveryOutcome" END,
               CASE WHEN EXISTS (SELECT 1 FROM earlier) THEN ${already} ELSE ${d.reason} END,
               ${b.projectId}, ${JSON.stringify(d.payload)}::jsonb
        RETURNING "id"
      ), build AS (
        INSERT INTO "Build" ("id", "projectId", "deliveryId", "trigger", "ref", "branch", "sha", "pusher", "message",
                             "committedAt", "pullRequest", "fromFork", "pushKey")
        SELECT ${buildId}, ${b.projectId}, delivery."id", ${b.trigger}::"BuildTrigger", ${b.ref}, ${b.branch}, ${b.sha},
               ${b.pusher}, ${b.message}, ${b.committedAt?.toISOString() ?? null}::timestamptz AT TIME ZONE 'UTC',
               ${b.pullRequest ?? null}::int, ${b.fromFork ?? false}, ${pushKey}
        FROM delivery WHERE NOT EXISTS (SELECT 1 FROM earlier)
        ON CONFLICT ("pushKey") DO NOTHING
        RETURNING "id"
      ), superseded AS (
        UPDATE "Build" SET "status" = 'superseded'::"BuildStatus", "supersededBy" = ${buildId},
               "reason" = ${`superseded by build ${buildId}`}, "finishedAt" = now()
        WHERE "projectId" = ${b.projectId}
          AND (("branch" = ${b.branch}::text) OR ("pullRequest" = ${b.pullRequest ?? null}::int))
          AND "status" IN ('queued', 'running') AND "id" <> ${buildId}
          AND EXISTS (SELECT 1 FROM build)
        RETURNING "id"
      )
      SELECT (SELECT "id" FROM build) AS built, (SELECT "id" FROM earlier) AS earlier,
             coalesce((SELECT array_agg(superseded."id") FROM superseded), '{}') AS superseded`,
    );
    const row = rows[0];
    if (row?.built) return { duplicate: false, deliveryRowId, buildId, superseded: row.superseded };
    // Another delivery of the same push won the race between the read and the insert above.
    let earlier = row?.earlier ?? null;
    if (!earlier) {
      earlier = (await this.prisma.build.findUnique({ where: { pushKey }, select: { id: true } }))?.id ?? null;
      await this.prisma.webhookDelivery.update({
        where: { id: deliveryRowId },
        data: { outcome: 'duplicate', reason: already },
      });
    }
    return { duplicate: true, buildId: earlier, outcome: 'duplicate', reason: already };
  }
}

/** One build per (project, ref, commit) that a webhook or the missed-push sweep asks for. */
export function pushKeyOf(projectId: string, ref: string, sha: string): string {
  return `${projectId}:${ref}:${sha}`;
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
