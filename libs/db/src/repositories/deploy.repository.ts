import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { Deploy, DeployStatus, DeployStep, DeployStepStatus, Prisma } from '../generated/client';

export type DeployWithSteps = Deploy & { steps: (DeployStep & { target: { name: string } | null })[] };

const STEPS = { orderBy: { position: 'asc' as const }, include: { target: { select: { name: true } } } };

export const FINAL_DEPLOY_STATUSES: DeployStatus[] = ['succeeded', 'failed'];
const ACTIVE: DeployStatus[] = ['queued', 'running', 'verifying'];

/** Deploys: one tracked operation per environment, its steps and its log. */
@Injectable()
export class DeployRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: Prisma.DeployUncheckedCreateInput): Promise<Deploy> {
    return this.prisma.deploy.create({ data });
  }

  find(id: string): Promise<DeployWithSteps | null> {
    return this.prisma.deploy.findUnique({ where: { id }, include: { steps: STEPS } });
  }

  forPromotion(promotionId: string, environmentId: string): Promise<Deploy | null> {
    return this.prisma.deploy.findUnique({ where: { promotionId_environmentId: { promotionId, environmentId } } });
  }

  update(id: string, data: Prisma.DeployUncheckedUpdateInput): Promise<Deploy> {
    return this.prisma.deploy.update({ where: { id }, data });
  }

  /** Set a final status unless it has one already. */
  async finish(id: string, status: 'succeeded' | 'failed', data: { reason?: string | null; rolledBack?: boolean }) {
    const { count } = await this.prisma.deploy.updateMany({
      where: { id, status: { notIn: FINAL_DEPLOY_STATUSES } },
      data: { status, ...data, finishedAt: new Date() },
    });
    return count === 1;
  }

  /** The deploy in progress (or waiting) in an environment, oldest first. */
  active(environmentId: string): Promise<Deploy[]> {
    return this.prisma.deploy.findMany({
      where: { environmentId, status: { in: ACTIVE } },
      orderBy: { createdAt: 'asc' },
    });
  }

  /** Deploys left unfinished (a worker died): what the reconciler ends. */
  unfinishedBefore(before: Date): Promise<Deploy[]> {
    return this.prisma.deploy.findMany({ where: { status: { in: ACTIVE }, createdAt: { lt: before } } });
  }

  recent(environmentId: string, take = 10): Promise<DeployWithSteps[]> {
    return this.prisma.deploy.findMany({
      where: { environmentId },
      orderBy: { createdAt: 'desc' },
      take,
      include: { steps: STEPS },
    });
  }

  /** The last deploy that succeeded: what the environment should be running. */
  lastSucceeded(environmentId: string): Promise<Deploy | null> {
    return this.prisma.deploy.findFirst({
      where: { environmentId, status: 'succeeded' },
      orderBy: { finishedAt: 'desc' },
    });
  }

  async addStep(data: {
    deployId: string;
    name: string;
    targetId?: string | null;
    status?: DeployStepStatus;
    detail?: string | null;
  }): Promise<DeployStep> {
    const position = await this.prisma.deployStep.count({ where: { deployId: data.deployId } });
    return this.prisma.deployStep.create({
      data: { ...data, position, startedAt: data.status === 'running' ? new Date() : null },
    });
  }

  updateStep(id: string, data: { status: DeployStepStatus; detail?: string | null }): Promise<DeployStep> {
    const final = data.status !== 'pending' && data.status !== 'running';
    return this.prisma.deployStep.update({ where: { id }, data: { ...data, finishedAt: final ? new Date() : null } });
  }

  /**
   * Run `fn` holding the environment's deploy lock (a transaction-scoped advisory lock held for the
   * deploy's whole length): deploys to one environment queue behind each other, and a lock held by
   * a process that died goes with its connection.
   */
  withEnvironmentLock<T>(environmentId: string, fn: () => Promise<T>, timeoutMs = 60 * 60_000): Promise<T> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`environment:${environmentId}`}, 0))`;
        return fn();
      },
      { timeout: timeoutMs, maxWait: 10_000 },
    );
  }

  /**
   * Deploys still active, recorded before `before`, in an environment whose deploy lock nobody holds:
   * the worker running them is gone (its lock went with its connection). `fn` runs for each while
   * this holds that environment's lock, so no deploy starts there meanwhile.
   */
  async forEachOrphan(before: Date, fn: (deploy: Deploy) => Promise<void>): Promise<void> {
    const candidates = await this.prisma.deploy.findMany({
      where: { status: { in: ACTIVE }, createdAt: { lt: before } },
      orderBy: { createdAt: 'asc' },
      take: 100,
    });
    for (const candidate of candidates) {
      await this.prisma.$transaction(
        async (tx) => {
          const [{ held }] = await tx.$queryRaw<{ held: boolean }[]>`
            SELECT pg_try_advisory_xact_lock(hashtextextended(${`environment:${candidate.environmentId}`}, 0)) AS held`;
          if (!held) return;
          const now = await tx.deploy.findUnique({ where: { id: candidate.id } });
          if (now && ACTIVE.includes(now.status)) await fn(now);
        },
        { timeout: 60_000, maxWait: 10_000 },
      );
    }
  }

  // The same shape as BuildRepository's log methods, so BuildLogWriter and the live follow serve both.
  async appendLogs(deployId: string, chunks: { seq: number; stream: string; text: string }[]): Promise<void> {
    if (!chunks.length) return;
    await this.prisma.deployLog.createMany({ data: chunks.map((c) => ({ deployId, ...c })), skipDuplicates: true });
  }

  async lastLogSeq(deployId: string): Promise<number> {
    const last = await this.prisma.deployLog.findFirst({
      where: { deployId },
      orderBy: { seq: 'desc' },
      select: { seq: true },
    });
    return last?.seq ?? 0;
  }

  logsAfter(deployId: string, afterSeq: number, take = 1000) {
    return this.prisma.deployLog.findMany({
      where: { deployId, seq: { gt: afterSeq } },
      orderBy: { seq: 'asc' },
      take,
      select: { seq: true, stream: true, text: true, createdAt: true },
    });
  }
}
