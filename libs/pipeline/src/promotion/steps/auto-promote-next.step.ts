import { Injectable } from '@nestjs/common';
import { ProjectRepository, PromotionRepository } from '@dockyard/db';
import { JobQueue } from '@dockyard/queue';
import { PromotionRecords } from '../promotion-records';
import { SYSTEM } from '../requester';
import { AfterStageWrite, StageWrittenContext } from './step';

/**
 * When the next stage is automatic (an admin's choice in the project's policy), ask for the digest
 * to enter it. The request goes through every gate of that stage, evaluated in the worker.
 */
@Injectable()
export class AutoPromoteNextStep implements AfterStageWrite {
  readonly name = 'auto-promote-next';

  constructor(
    private readonly records: PromotionRecords,
    private readonly projects: ProjectRepository,
    private readonly promotions: PromotionRepository,
    private readonly queue: JobQueue,
  ) {}

  async run({ promotion: p, rules }: StageWrittenContext): Promise<void> {
    if (p.kind !== 'promote') return;
    const index = rules.stages.findIndex((s) => s.name === p.toStage.name);
    const next = rules.stages[index + 1];
    if (!next?.auto) return;
    const stages = await this.projects.syncStages(
      p.projectId,
      rules.stages.map((s) => s.name),
    );
    const target = stages[index + 1];
    if ((await this.promotions.currentRelease(target.id))?.digest === p.digest) return;
    const opened = await this.records.open(
      {
        projectId: p.projectId,
        imageId: p.imageId,
        digest: p.digest,
        fromStage: p.toStage.name,
        toStageId: target.id,
        kind: 'promote',
        forced: false,
      },
      { project: p.project, image: p.image, toStage: target },
      SYSTEM,
      'promotion.requested',
      { digest: p.digest, from: p.toStage.name, to: target.name, auto: true },
    );
    await this.queue.add('promotion.run', { promotionId: opened.id, at: Date.now() }, { delay: 0 });
  }
}
