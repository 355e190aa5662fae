import { Injectable } from '@nestjs/common';
import { BuildRepository, ProjectRepository, PromotionFull, PromotionRepository } from '@dockyard/db';
import { ConflictError, NotFoundError } from '../../errors';
import { requireProject } from '../../projects';
import { PromotionRecords } from '../promotion-records';
import { Requester, assertMayRequest, short } from '../requester';
import { EvaluatePromotion } from './evaluate-promotion';
import { assertPromotable } from './request-promotion';

export interface RollBackStageCommand {
  owner: string;
  name: string;
  stage: string;
  /** An earlier digest of the stage; default: the one before the current. */
  digest?: string;
  force?: boolean;
  requester: Requester;
}

/** Put back a stage's previous digest (or a named earlier one), through the stage's gates. */
@Injectable()
export class RollBackStage {
  constructor(
    private readonly records: PromotionRecords,
    private readonly evaluate: EvaluatePromotion,
    private readonly promotions: PromotionRepository,
    private readonly projects: ProjectRepository,
    private readonly builds: BuildRepository,
  ) {}

  async execute(command: RollBackStageCommand): Promise<PromotionFull> {
    const project = await requireProject(this.projects, `${command.owner}/${command.name}`);
    assertMayRequest(command.requester, command.force);
    const stage = (await this.promotions.stages(project.id)).find((s) => s.name === command.stage);
    if (!stage) throw new NotFoundError(`${project.owner}/${project.name} has no stage "${command.stage}"`);
    const [current, ...earlier] = stage.releases;
    if (!current) throw new ConflictError(`${command.stage} holds nothing to roll back`);
    const target = command.digest
      ? earlier.find((r) => r.digest === command.digest)
      : earlier.find((r) => r.digest !== current.digest);
    if (!target) {
      throw new ConflictError(
        command.digest
          ? `${short(command.digest)} never held ${command.stage} before`
          : `${command.stage} has no earlier digest to go back to`,
      );
    }
    await assertPromotable(this.builds, project.id, target.image);
    const toStage = { id: stage.id, projectId: stage.projectId, name: stage.name, position: stage.position };
    const opened = await this.records.open(
      {
        projectId: project.id,
        imageId: target.imageId,
        digest: target.digest,
        fromStage: command.stage,
        toStageId: stage.id,
        kind: 'rollback',
        forced: !!command.force,
      },
      { project, image: target.image, toStage },
      command.requester,
      command.force ? 'rollback.requested.forced' : 'rollback.requested',
      { stage: command.stage, from: current.digest, to: target.digest },
    );
    return this.evaluate.execute({ promotion: opened });
  }
}
