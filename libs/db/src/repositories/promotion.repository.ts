import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { Approval, Image, Prisma, Project, Promotion, Release, Stage, TestRun, User } from '../generated/client';
import type { AuditEntry } from './audit.repository';

export type PromotionFull = Promotion & {
  project: Project;
  image: Image;
  toStage: Stage;
  approvals: (Approval & { user: User })[];
  testRuns: TestRun[];
  requestedBy: User | null;
};

const SETTLED: Promotion['status'][] = ['promoted', 'rejected', 'blocked', 'failed'];

const full = {
  project: true,
  image: true,
  toStage: true,
  approvals: { include: { user: true }, orderBy: { createdAt: 'asc' } },
  testRuns: { orderBy: { position: 'asc' } },
  requestedBy: true,
} satisfies Prisma.PromotionInclude;

@Injectable()
export class PromotionRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(id: string): Promise<PromotionFull | null> {
    return this.prisma.promotion.findUnique({ where: { id }, include: full });
  }

  /** The promotion a passed build opened to enter the first stage (Dockyard's own: its id is random). */
  entryOf(buildId: string): Promise<PromotionFull | null> {
    return this.prisma.promotion.findFirst({
      where: { buildId, kind: 'promote', fromStage: null },
      include: full,
      orderBy: { createdAt: 'asc' },
    });
  }

  create(data: Prisma.PromotionUncheckedCreateInput): Promise<Promotion> {
    return this.prisma.promotion.create({ data });
  }

  update(id: string, data: Prisma.PromotionUncheckedUpdateInput): Promise<Promotion> {
    return this.prisma.promotion.update({ where: { id }, data });
  }

  /**
   * Take a promotion's stage tests for one worker attempt (`token`), holding them for `leaseMs`: when
   * nobody holds them, or their holder's lease ran out (its worker died). Returns the attempt's
   * number and the token of the attempt it took over (null when there was none), or null when a live
   * attempt holds them or the promotion has moved on.
   */
  async claimTests(
    id: string,
    token: string,
    leaseMs: number,
  ): Promise<{ attempt: number; tookOverFrom: string | null } | null> {
    const row = await this.prisma.promotion.findUnique({ where: { id }, select: { leaseToken: true } });
    if (!row) return null;
    const now = new Date();
    const { count } = await this.prisma.promotion.updateMany({
      where: {
        id,
        status: { in: ['waiting', 'testing'] },
        leaseToken: row.leaseToken,
        ...(row.leaseToken ? { OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }] } : {}),
      },
      data: {
        status: 'testing',
        leaseToken: token,
        leaseUntil: new Date(now.getTime() + leaseMs),
        attempts: { increment: 1 },
      },
    });
    if (!count) return null;
    const { attempts } = await this.prisma.promotion.findUniqueOrThrow({ where: { id }, select: { attempts: true } });
    return { attempt: attempts, tookOverFrom: row.leaseToken };
  }

  /** The heartbeat of an attempt running stage tests: false when it no longer holds them. */
  async renewTestsLease(id: string, token: string, leaseMs: number): Promise<boolean> {
    const { count } = await this.prisma.promotion.updateMany({
      where: { id, status: 'testing', leaseToken: token },
      data: { leaseUntil: new Date(Date.now() + leaseMs) },
    });
    return count > 0;
  }

  /**
   * Let go of the stage tests: the attempt `token` when given, else (the watchdog) whoever held them
   * with a lease that ran out before `expiredBefore`. False when that holder no longer held them.
   */
  async releaseTests(id: string, holder: { token: string } | { expiredBefore: Date }): Promise<boolean> {
    const { count } = await this.prisma.promotion.updateMany({
      where: {
        id,
        ...('token' in holder
          ? { leaseToken: holder.token }
          : { status: 'testing', leaseToken: { not: null }, leaseUntil: { lt: holder.expiredBefore } }),
      },
      data: { leaseToken: null, leaseUntil: null },
    });
    return count > 0;
  }

  /** Promotions `testing` whose attempt's lease ran out before `before`: their worker is gone. */
  expiredTests(before: Date, take = 100): Promise<{ id: string; attempts: number; leaseUntil: Date | null }[]> {
    return this.prisma.promotion.findMany({
      where: { status: 'testing', leaseToken: { not: null }, leaseUntil: { lt: before } },
      select: { id: true, attempts: true, leaseUntil: true },
      orderBy: { leaseUntil: 'asc' },
      take,
    });
  }

  /** The attempt token of each promotion whose stage tests a live attempt holds now, among `ids`. */
  async liveTestAttempts(ids: string[]): Promise<Map<string, string>> {
    const rows = await this.prisma.promotion.findMany({
      where: { id: { in: ids }, status: 'testing', leaseUntil: { gte: new Date() } },
      select: { id: true, leaseToken: true },
    });
    return new Map(rows.map((r) => [r.id, r.leaseToken ?? '']));
  }

  /** Test runs of a promotion that never finished (their worker died) end as cancelled, with why. */
  async endUnfinishedTestRuns(promotionId: string, reason: string): Promise<number> {
    const { count } = await this.prisma.testRun.updateMany({
      where: { promotionId, finishedAt: null, status: { in: ['pending', 'running'] } },
      data: { status: 'cancelled', reason, finishedAt: new Date() },
    });
    return count;
  }

  /** Waiting or testing promotions of a project (what the dashboard shows as pending). */
  open(projectId: string): Promise<PromotionFull[]> {
    return this.prisma.promotion.findMany({
      where: { projectId, status: { in: ['waiting', 'testing', 'promoting'] } },
      include: full,
      orderBy: { createdAt: 'asc' },
    });
  }

  async approve(data: {
    promotionId: string;
    userId: string;
    approved: boolean;
    comment?: string;
    channel: Approval['channel'];
  }): Promise<void> {
    await this.prisma.approval.upsert({
      where: { promotionId_userId: { promotionId: data.promotionId, userId: data.userId } },
      create: data,
      update: { approved: data.approved, comment: data.comment, channel: data.channel, createdAt: new Date() },
    });
  }

  /** The stages the project's policy lists, in order, with their latest releases (newest first). */
  stages(projectId: string): Promise<(Stage & { releases: (Release & { image: Image })[] })[]> {
    return this.prisma.stage.findMany({
      where: { projectId, position: { gte: 0 } },
      orderBy: { position: 'asc' },
      include: { releases: { orderBy: { createdAt: 'desc' }, take: 10, include: { image: true } } },
    });
  }

  /** Has this digest ever been released into the stage? */
  async everHeld(stageId: string, digest: string): Promise<boolean> {
    return (await this.prisma.release.count({ where: { stageId, digest } })) > 0;
  }

  /** What a stage holds now (its newest release), or null. */
  currentRelease(stageId: string): Promise<Release | null> {
    return this.prisma.release.findFirst({ where: { stageId }, orderBy: { createdAt: 'desc' } });
  }

  findImage(projectId: string, digest: string): Promise<Image | null> {
    return this.prisma.image.findFirst({ where: { projectId, digest } });
  }

  image(id: string): Promise<Image> {
    return this.prisma.image.findUniqueOrThrow({ where: { id } });
  }

  /** Everyone who pushed a build of the project, by commit: who pushed what is who touched the range. */
  async pushersByCommit(projectId: string): Promise<{ sha: string; pusher: string }[]> {
    const rows = await this.prisma.build.findMany({
      where: { projectId, pusher: { not: null } },
      select: { sha: true, pusher: true },
      distinct: ['sha', 'pusher'],
    });
    return rows.map((r) => ({ sha: r.sha, pusher: r.pusher! }));
  }

  /**
   * The pipeline file an image was built with: its first passed build's, or while that build still
   * runs (a passed build entering the first stage), the running one's. `final` says it cannot change.
   */
  async pipelineOfImage(imageId: string): Promise<{ config: Prisma.JsonValue | null; final: boolean } | null> {
    const build =
      (await this.buildOfImage(imageId)) ??
      (await this.prisma.build.findFirst({
        where: { imageId, status: 'running', pullRequest: null },
        orderBy: { createdAt: 'asc' },
      }));
    return build ? { config: build.config, final: build.status === 'passed' } : null;
  }

  /** The build that produced an image (its pipeline file and commit): a pull request's never counts. */
  buildOfImage(imageId: string) {
    return this.prisma.build.findFirst({
      where: { imageId, status: 'passed', pullRequest: null },
      orderBy: { createdAt: 'asc' },
    });
  }

  createTestRuns(promotionId: string, tests: { name: string; command: string }[]): Promise<TestRun[]> {
    return this.prisma.$transaction(async (tx) => {
      await tx.testRun.deleteMany({ where: { promotionId } });
      await tx.testRun.createMany({
        data: tests.map((t, position) => ({ promotionId, position, name: t.name, command: t.command })),
      });
      return tx.testRun.findMany({ where: { promotionId }, orderBy: { position: 'asc' } });
    });
  }

  /**
   * Write a promotion into its stage, holding the stage's lock (a transaction-scoped advisory lock, so
   * promotions into one stage are serialized): claim it (false when it was settled meanwhile), add the
   * Release row and the audit event, and call `registryWrite` LAST — if it throws, the rows roll back
   * and the registry tag and the record still agree.
   */
  writeStage(
    input: {
      promotionId: string;
      stageId: string;
      imageId: string;
      digest: string;
      byLogin: string;
      buildId?: string | null;
      completedAt: Date;
      policyVersion: number;
      gates: Prisma.InputJsonValue;
      audit: AuditEntry;
    },
    registryWrite: () => Promise<void>,
  ): Promise<boolean> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`stage:${input.stageId}`}, 0))`;
        // Claimed under the lock: the same promotion may have been written meanwhile.
        const claimed = await tx.promotion.updateMany({
          where: { id: input.promotionId, status: { notIn: SETTLED } },
          data: {
            status: 'promoted',
            reason: null,
            completedAt: input.completedAt,
            policyVersion: input.policyVersion,
            gates: input.gates,
          },
        });
        if (!claimed.count) return false;
        await tx.release.create({
          data: {
            stageId: input.stageId,
            imageId: input.imageId,
            digest: input.digest,
            promotionId: input.promotionId,
            buildId: input.buildId ?? null,
            byLogin: input.byLogin,
          },
        });
        await tx.auditEvent.create({ data: input.audit });
        await registryWrite();
        return true;
      },
      { timeout: 120_000, maxWait: 120_000 },
    );
  }
}
