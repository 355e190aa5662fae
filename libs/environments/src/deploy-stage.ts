import { Injectable } from '@nestjs/common';
import { PromotionRepository } from '@dockyard/db';
import type { PipelineConfig, StageDeployInput, StageDeployResult, StageDeployer } from '@dockyard/pipeline';
import { DeployToEnvironment } from './deploy-to-environment';
import { LocalEnvironments } from './local-environments';

/**
 * Promotions' way into environments: a promotion, a rollback or a build entering its first stage,
 * into a stage that has an environment, deploys the digest there and verifies it before the stage
 * is written.
 */
@Injectable()
export class DeployStage implements StageDeployer {
  constructor(
    private readonly local: LocalEnvironments,
    private readonly promotions: PromotionRepository,
    private readonly deployer: DeployToEnvironment,
  ) {}

  async needed(projectId: string, stageId: string): Promise<boolean> {
    const env = await this.local.forStage(projectId, stageId);
    return !!env?.targets.length;
  }

  async deploy(input: StageDeployInput): Promise<StageDeployResult | null> {
    const env = await this.local.forStage(input.projectId, input.stageId);
    if (!env?.targets.length) return null;
    // The image's own pipeline file says how it runs and what verifies it.
    const pipeline =
      input.pipeline ?? ((await this.promotions.buildOfImage(input.image.id))?.config as PipelineConfig | null);
    const done = await this.deployer.execute({
      environmentId: env.id,
      repository: input.image.repository,
      digest: input.image.digest,
      kind: input.kind,
      promotionId: input.promotionId ?? null,
      by: input.by,
      service: pipeline?.service ?? null,
      verify: pipeline?.stages?.find((s) => s.name === input.stage)?.verify ?? [],
    });
    return { ok: done.status === 'succeeded', reason: done.reason, deployId: done.id };
  }
}
