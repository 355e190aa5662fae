import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';

/** Event types that say a deployment into an environment went bad (published by the deploy use cases). */
export const DEPLOY_FAILURE_EVENTS = ['deploy.failed', 'deploy.rolled_back'];

/** What the delivery metrics (DORA) read: releases into a project's last stage and its failed verifications. */
@Injectable()
export class DoraRepository {
  constructor(private readonly prisma: PrismaService) {}

  async history(projectId: string, since: Date) {
    const stage = await this.prisma.stage.findFirst({ where: { projectId }, orderBy: { position: 'desc' } });
    if (!stage) return { stage: null, releases: [], failures: [] };
    const [releases, failures] = await Promise.all([
      this.prisma.release.findMany({
        where: { stageId: stage.id, createdAt: { gte: since } },
        orderBy: { createdAt: 'asc' },
        select: {
          createdAt: true,
          digest: true,
          promotion: { select: { kind: true } },
          image: {
            select: {
              builds: {
                where: { status: 'passed' },
                orderBy: { createdAt: 'asc' },
                take: 1,
                select: { committedAt: true, createdAt: true },
              },
            },
          },
        },
      }),
      this.prisma.event.findMany({
        where: { projectId, type: { in: DEPLOY_FAILURE_EVENTS }, stage: stage.name, at: { gte: since } },
        orderBy: { id: 'asc' },
        select: { at: true, digest: true },
      }),
    ]);
    return {
      stage: stage.name,
      releases: releases.map((r) => {
        const build = r.image.builds[0];
        return {
          at: r.createdAt,
          digest: r.digest,
          kind: r.promotion?.kind === 'rollback' ? ('rollback' as const) : ('deploy' as const),
          // The commit's own time when the push said it; else when Dockyard first heard of it.
          committedAt: build ? (build.committedAt ?? build.createdAt) : null,
        };
      }),
      failures: failures.map((f) => ({ at: f.at, digest: f.digest })),
    };
  }

  projectIds(): Promise<{ id: string; owner: string; name: string }[]> {
    return this.prisma.project.findMany({ select: { id: true, owner: true, name: true } });
  }
}
