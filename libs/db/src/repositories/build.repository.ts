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
import { pushKeyOf, supersedeOlder } from './delivery.repository';
import { isUniqueViolation } from './errors';

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
    /** A pull request's build (by hand or retried) stays one: no secrets, never promoted. */
    pullRequest?: number | null;
    fromFork?: boolean;
  }): Promise<{ build: Build; superseded: string[] }> {
    return this.prisma.$transaction(async (tx) => {
      const build = await tx.build.create({ data });
      const superseded = data.branch ? await supersedeOlder(tx, data.projectId, data.branch, build.id) : [];
      return { build, superseded };
    });
  }

  /**
   * Start an attempt: queued → running, or take over a `running` build whose lease has run out
   * (its worker died). A cancelled or superseded build is never started; a build another worker
   * holds is not taken. Returns the attempt's number, or null when not claimed.
   */
  async claim(id: string, token: string, leaseMs: number): Promise<number | null> {
    const now = new Date();
    const { count } = await this.prisma.build.updateMany({
      where: {
        id,
        OR: [{ status: 'queued' }, { status: 'running', OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }] }],
      },
      data: {
        status: 'running',
        startedAt: now,
        reason: null,
        leaseToken: token,
        leaseUntil: new Date(now.getTime() + leaseMs),
        attempts: { increment: 1 },
      },
    });
    if (count !== 1) return null;
    const row = await this.prisma.build.findUnique({ where: { id }, select: { attempts: true } });
    return row?.attempts ?? null;
  }

  /** The heartbeat: false when the attempt no longer holds the build (ended, requeued, taken over). */
  async renewLease(id: string, token: string, leaseMs: number): Promise<boolean> {
    const { count } = await this.prisma.build.updateMany({
      where: { id, status: 'running', leaseToken: token },
      data: { leaseUntil: new Date(Date.now() + leaseMs) },
    });
    return count === 1;
  }

  /** Builds `running` whose lease ran out before `before`: their worker is gone. */
  expiredLeases(before: Date, take = 100): Promise<{ id: string; attempts: number; leaseUntil: Date | null }[]> {
    return this.prisma.build.findMany({
      where: { status: 'running', OR: [{ leaseUntil: null }, { leaseUntil: { lt: before } }] },
      select: { id: true, attempts: true, leaseUntil: true },
      orderBy: { createdAt: 'asc' },
      take,
    });
  }

  /** The attempt token of each build that a live attempt holds now, among `ids`. */
  async liveAttempts(ids: string[]): Promise<Map<string, string>> {
    const rows = await this.prisma.build.findMany({
      where: { id: { in: ids }, status: 'running', leaseUntil: { gte: new Date() } },
      select: { id: true, leaseToken: true },
    });
    return new Map(rows.map((r) => [r.id, r.leaseToken ?? '']));
  }

  async status(id: string): Promise<BuildStatus | null> {
    return (await this.prisma.build.findUnique({ where: { id }, select: { status: true } }))?.status ?? null;
  }

  update(id: string, data: Prisma.BuildUncheckedUpdateInput): Promise<Build> {
    return this.prisma.build.update({ where: { id }, data });
  }

  /**
   * Set a final status, unless the build already has one (a cancel or supersede wins). With an
   * attempt token, only while that attempt still holds the build (a lost lease cannot end it).
   */
  async finish(id: string, status: BuildStatus, reason: string | null, token?: string): Promise<boolean> {
    const { count } = await this.prisma.build.updateMany({
      where: {
        id,
        status: { notIn: FINAL_STATUSES },
        ...(token ? { leaseToken: token } : {}),
      },
      data: { status, reason, finishedAt: new Date(), leaseToken: null, leaseUntil: null },
    });
    return count === 1;
  }

  /**
   * Back to queued for another attempt (a transient failure, a shutdown handing it back, a lost
   * worker). With a token, only the attempt holding it; without, only once its lease ran out.
   */
  async requeue(id: string, reason: string, holder: { token: string } | { expiredBefore: Date }): Promise<boolean> {
    const { count } = await this.prisma.build.updateMany({
      where: {
        id,
        status: 'running',
        ...('token' in holder
          ? { leaseToken: holder.token }
          : { OR: [{ leaseUntil: null }, { leaseUntil: { lt: holder.expiredBefore } }] }),
      },
      data: { status: 'queued', reason, leaseToken: null, leaseUntil: null },
    });
    return count === 1;
  }

  /** End a build whose worker was lost too often: `error`, if its lease is still out of date. */
  async finishLost(id: string, reason: string, expiredBefore: Date): Promise<boolean> {
    const { count } = await this.prisma.build.updateMany({
      where: { id, status: 'running', OR: [{ leaseUntil: null }, { leaseUntil: { lt: expiredBefore } }] },
      data: { status: 'error', reason, finishedAt: new Date(), leaseToken: null, leaseUntil: null },
    });
    return count === 1;
  }

  async cancel(id: string, reason: string): Promise<boolean> {
    const { count } = await this.prisma.build.updateMany({
      where: { id, status: { in: ['queued', 'running'] } },
      data: { status: 'cancelled', reason, finishedAt: new Date(), leaseToken: null, leaseUntil: null },
    });
    return count === 1;
  }

  /** The newest image built from a branch: its inline cache serves the branch's next build. */
  async lastImage(projectId: string, branch: string): Promise<{ repository: string; digest: string } | null> {
    const build = await this.prisma.build.findFirst({
      where: { projectId, branch, imageId: { not: null } },
      orderBy: { createdAt: 'desc' },
      select: { image: { select: { repository: true, digest: true } } },
    });
    return build?.image ?? null;
  }

  /** Every build that produced this image tested a pull request: such an image never enters a stage. */
  async onlyFromPullRequests(imageId: string): Promise<boolean> {
    const [fromPullRequests, others] = await Promise.all([
      this.prisma.build.count({ where: { imageId, pullRequest: { not: null } } }),
      this.prisma.build.count({ where: { imageId, pullRequest: null } }),
    ]);
    return fromPullRequests > 0 && others === 0;
  }

  /** Whether a build of the project that is no pull request's built this image and passed. */
  async passedOutsidePullRequests(projectId: string, imageId: string): Promise<boolean> {
    return (await this.prisma.build.count({ where: { projectId, imageId, status: 'passed', pullRequest: null } })) > 0;
  }

  /**
   * Whether a pull request comes from a fork, as its newest delivery said; null when no delivery of
   * it was ever received (the caller then assumes a fork).
   */
  async pullRequestFromFork(projectId: string, pullRequest: number): Promise<boolean | null> {
    const row = await this.prisma.build.findFirst({
      where: { projectId, pullRequest, trigger: 'pull_request' },
      orderBy: { createdAt: 'desc' },
      select: { fromFork: true },
    });
    return row ? row.fromFork : null;
  }

  /** The commit of each branch's newest build (whatever became of it). */
  async lastBuiltHeads(projectId: string): Promise<Map<string, string>> {
    const rows = await this.prisma.build.findMany({
      where: { projectId, branch: { not: null } },
      distinct: ['branch'],
      orderBy: [{ branch: 'asc' }, { createdAt: 'desc' }],
      select: { branch: true, sha: true },
    });
    return new Map(rows.map((r) => [r.branch!, r.sha]));
  }

  /**
   * A build of a branch head no delivery announced, unless that commit of the branch already has one.
   * Serialized per branch (advisory lock), so that workers sweeping at once make one build.
   */
  async createMissed(projectId: string, branch: string, sha: string): Promise<Build | null> {
    const ref = `refs/heads/${branch}`;
    try {
      return await this.prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`missed/${projectId}/${branch}`}))`;
        if (await tx.build.findFirst({ where: { projectId, branch, sha }, select: { id: true } })) return null;
        const build = await tx.build.create({
          data: {
            projectId,
            trigger: 'missed_push',
            ref,
            branch,
            sha,
            // The push's own key: its delivery, coming late, is then a duplicate and builds nothing more.
            pushKey: pushKeyOf(projectId, ref, sha),
            message: 'a push no webhook announced, found by git ls-remote',
          },
        });
        await supersedeOlder(tx, projectId, branch, build.id);
        return build;
      });
    } catch (err) {
      // The push's delivery arrived meanwhile and has the build.
      if (isUniqueViolation(err)) return null;
      throw err;
    }
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
