import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { Approval, Image, Prisma, Project, Promotion, Release, Stage, TestRun, User } from '../generated/client';

export type PromotionFull = Promotion & {
  project: Project;
  image: Image;
  toStage: Stage;
  approvals: (Approval & { user: User })[];
  testRuns: TestRun[];
  requestedBy: User | null;
};

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
  constructor(readonly prisma: PrismaService) {}

  find(id: string): Promise<PromotionFull | null> {
    return this.prisma.promotion.findUnique({ where: { id }, include: full });
  }

  create(data: Prisma.PromotionUncheckedCreateInput): Promise<Promotion> {
    return this.prisma.promotion.create({ data });
  }

  update(id: string, data: Prisma.PromotionUncheckedUpdateInput): Promise<Promotion> {
    return this.prisma.promotion.update({ where: { id }, data });
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

  stages(projectId: string): Promise<(Stage & { releases: (Release & { image: Image })[] })[]> {
    return this.prisma.stage.findMany({
      where: { projectId },
      orderBy: { position: 'asc' },
      include: { releases: { orderBy: { createdAt: 'desc' }, take: 10, include: { image: true } } },
    });
  }

  /** Has this digest ever been released into the stage? */
  async everHeld(stageId: string, digest: string): Promise<boolean> {
    return (await this.prisma.release.count({ where: { stageId, digest } })) > 0;
  }

  /** The build that produced an image (its pipeline file and commit). */
  buildOfImage(imageId: string) {
    return this.prisma.build.findFirst({ where: { imageId, status: 'passed' }, orderBy: { createdAt: 'asc' } });
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
   * Run `fn` holding the stage's lock (a transaction-scoped advisory lock): promotions into one
   * stage are serialized, and the registry write and the Release row happen under the same lock.
   */
  withStageLock<T>(stageId: string, fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`stage:${stageId}`}, 0))`;
        return fn(tx);
      },
      { timeout: 120_000, maxWait: 120_000 },
    );
  }
}
