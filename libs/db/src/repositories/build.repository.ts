import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type {
  Build,
  BuildStatus,
  BuildTrigger,
  Channel,
  Prisma,
  Project,
  TestRun,
  TestRunStatus,
} from '../generated/client';
import { supersedeOlder } from './delivery.repository';

export interface TestRunUpdate {
  status: TestRunStatus;
  exitCode?: number | null;
  reason?: string | null;
  output?: string;
  startedAt?: Date;
  finishedAt?: Date;
  durationMs?: number;
}

export const FINAL_STATUSES: BuildStatus[] = ['passed', 'failed', 'error', 'cancelled', 'superseded'];

export type BuildWithProject = Build & { project: Project };
export type BuildDetail = Build & {
  project: Project;
  testRuns: TestRun[];
  image: { repository: string; digest: string; sizeBytes: bigint } | null;
};

@Injectable()
export class BuildRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(id: string): Promise<BuildWithProject | null> {
    return this.prisma.build.findUnique({ where: { id }, include: { project: true } });
  }

  detail(id: string): Promise<BuildDetail | null> {
    return this.prisma.build.findUnique({
      where: { id },
      include: {
        project: true,
        testRuns: { orderBy: { position: 'asc' } },
        image: { select: { repository: true, digest: true, sizeBytes: true } },
      },
    });
  }

  async list(filter: { projectId?: string; status?: BuildStatus; take: number; skip: number }) {
    const where: Prisma.BuildWhereInput = { projectId: filter.projectId, status: filter.status };
    const [items, total] = await this.prisma.$transaction([
      this.prisma.build.findMany({
        where,
        orderBy: { createdAt: 'desc' },
        take: filter.take,
        skip: filter.skip,
        include: { project: true, image: { select: { digest: true } } },
      }),
      this.prisma.build.count({ where }),
    ]);
    return { items, total };
  }

  /** A build made by hand (API) or as a retry; it supersedes older unfinished builds of its branch. */
  create(data: {
    projectId: string;
    trigger: BuildTrigger;
    ref: string;
    branch: string | null;
    sha: string;
    pusher: string | null;
    message: string | null;
    retryOfId?: string;
    channel?: Channel;
  }): Promise<{ build: Build; superseded: string[] }> {
    return this.prisma.$transaction(async (tx) => {
      const build = await tx.build.create({ data });
      const superseded = data.branch ? await supersedeOlder(tx, data.projectId, data.branch, build.id) : [];
      return { build, superseded };
    });
  }

  /** queued → running, only if still queued: a cancelled or superseded build is never started. */
  async claim(id: string): Promise<boolean> {
    const { count } = await this.prisma.build.updateMany({
      where: { id, status: 'queued' },
      data: { status: 'running', startedAt: new Date(), reason: null },
    });
    return count === 1;
  }

  async status(id: string): Promise<BuildStatus | null> {
    return (await this.prisma.build.findUnique({ where: { id }, select: { status: true } }))?.status ?? null;
  }

  update(id: string, data: Prisma.BuildUncheckedUpdateInput): Promise<Build> {
    return this.prisma.build.update({ where: { id }, data });
  }

  /** Set a final status, unless the build already has one (a cancel or supersede wins). */
  async finish(id: string, status: BuildStatus, reason: string | null): Promise<boolean> {
    const { count } = await this.prisma.build.updateMany({
      where: { id, status: { notIn: FINAL_STATUSES } },
      data: { status, reason, finishedAt: new Date() },
    });
    return count === 1;
  }

  /** Back to queued after a transient failure, for the queue's next attempt. */
  async requeue(id: string, reason: string): Promise<void> {
    await this.prisma.build.updateMany({ where: { id, status: 'running' }, data: { status: 'queued', reason } });
  }

  async cancel(id: string, reason: string): Promise<boolean> {
    const { count } = await this.prisma.build.updateMany({
      where: { id, status: { in: ['queued', 'running'] } },
      data: { status: 'cancelled', reason, finishedAt: new Date() },
    });
    return count === 1;
  }

  /** Queued builds older than `before`: the reconciler (re)adds their jobs; job ids make it harmless. */
  queuedBefore(before: Date, take = 100): Promise<{ id: string }[]> {
    return this.prisma.build.findMany({
      where: { status: 'queued', createdAt: { lt: before } },
      select: { id: true },
      orderBy: { createdAt: 'asc' },
      take,
    });
  }

  async createTestRuns(buildId: string, tests: { name: string; command: string }[]): Promise<TestRun[]> {
    await this.prisma.testRun.deleteMany({ where: { buildId } });
    await this.prisma.testRun.createMany({
      data: tests.map((t, position) => ({ buildId, position, name: t.name, command: t.command })),
    });
    return this.prisma.testRun.findMany({ where: { buildId }, orderBy: { position: 'asc' } });
  }

  updateTestRun(id: string, data: TestRunUpdate): Promise<TestRun> {
    return this.prisma.testRun.update({ where: { id }, data });
  }

  async appendLogs(buildId: string, chunks: { seq: number; stream: string; text: string }[]): Promise<void> {
    if (!chunks.length) return;
    await this.prisma.buildLog.createMany({ data: chunks.map((c) => ({ buildId, ...c })), skipDuplicates: true });
  }

  async lastLogSeq(buildId: string): Promise<number> {
    const last = await this.prisma.buildLog.findFirst({
      where: { buildId },
      orderBy: { seq: 'desc' },
      select: { seq: true },
    });
    return last?.seq ?? 0;
  }

  logsAfter(buildId: string, afterSeq: number, take = 1000) {
    return this.prisma.buildLog.findMany({
      where: { buildId, seq: { gt: afterSeq } },
      orderBy: { seq: 'asc' },
      take,
      select: { seq: true, stream: true, text: true, createdAt: true },
    });
  }
}
