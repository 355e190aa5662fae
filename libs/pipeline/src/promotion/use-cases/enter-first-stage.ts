import { Injectable } from '@nestjs/common';
import { BuildWithProject, Image, ProjectRepository, PromotionFull, PromotionRepository } from '@dockyard/db';
import type { ProjectRules } from '../project-policy';
import { PromotionRecords } from '../promotion-records';
import { SYSTEM } from '../requester';
import { EvaluatePromotion } from './evaluate-promotion';

export interface EnterFirstStageCommand {
  build: Pick<BuildWithProject, 'id' | 'pusher' | 'project' | 'channel' | 'pullRequest'>;
  image: Image;
  /** The rules the build was checked against (the project's policy with its file's additions). */
  rules: ProjectRules;
}

/**
 * A passed build's image enters the FIRST stage when the rules make it automatic — through the same
 * gates and the same stage write as any promotion, so the registry tag and the Release row agree.
 * Returns null when the first stage is not automatic. Idempotent: a build opens one entry (found by
 * the build, not by an id a caller could have taken first).
 */
@Injectable()
export class EnterFirstStage {
  constructor(
    private readonly records: PromotionRecords,
    private readonly evaluate: EvaluatePromotion,
    private readonly promotions: PromotionRepository,
    private readonly projects: ProjectRepository,
  ) {}

  async execute({ build, image, rules }: EnterFirstStageCommand): Promise<PromotionFull | null> {
    const first = rules.stages[0];
    // A pull request's build never enters a stage, whatever route it came by.
    if (!first.auto || build.pullRequest !== null) return null;
    const existing = await this.promotions.entryOf(build.id);
    if (existing) return this.evaluate.execute({ promotion: existing, inWorker: true });
    const [stage] = await this.projects.syncStages(
      build.project.id,
      rules.stages.map((s) => s.name),
    );
    const opened = await this.records.open(
      {
        projectId: build.project.id,
        imageId: image.id,
        digest: image.digest,
        fromStage: null,
        toStageId: stage.id,
        kind: 'promote',
        forced: false,
        buildId: build.id,
        pushedBy: build.pusher,
      },
      { project: build.project, image, toStage: stage },
      { ...SYSTEM, channel: build.channel ?? 'webhook' },
      'promotion.requested',
      { digest: image.digest, from: null, to: first.name, build: build.id },
    );
    return this.evaluate.execute({ promotion: opened, inWorker: true });
  }
}
