import { Inject, Injectable, Optional } from '@nestjs/common';
import { STAGE_DEPLOYER, StageDeployer } from '../../stage-deployer';
import { GateContext, GateDecision, PromotionGate, allow, refuse, wait } from './gate';

/**
 * Is the digest running, healthy and verified in the stage's environment? Asked last, once every
 * other gate allows: the deploy (host by host, the soak, the `verify:` suites, an automatic rollback
 * on failure) runs in the worker, and only a deploy that passed lets the stage be written, so the
 * registry tag and the Release never name a digest that is not running there. A failed deploy ends
 * the promotion `failed` (the hosts are back on the previous digest). Stages without an environment
 * pass.
 */
@Injectable()
export class DeployGate implements PromotionGate {
  readonly name = 'deploy';

  constructor(@Optional() @Inject(STAGE_DEPLOYER) private readonly deployer?: StageDeployer) {}

  async check({ promotion: p, stage, inWorker }: GateContext): Promise<GateDecision> {
    if (!this.deployer || !(await this.deployer.needed(p.projectId, p.toStageId))) return allow();
    if (!inWorker) return wait(`deploying to ${stage.name}`, { work: 'worker', doing: 'promoting' });
    const result = await this.deployer.deploy({
      projectId: p.projectId,
      stageId: p.toStageId,
      stage: stage.name,
      image: p.image,
      kind: p.kind === 'rollback' ? 'rollback' : 'deploy',
      promotionId: p.id,
      by: p.requestedBy?.login ?? p.pushedBy ?? 'system',
    });
    if (!result || result.ok) return allow();
    return refuse(`deploy to ${stage.name} failed: ${result.reason ?? 'no reason given'}`, { failed: true });
  }
}
