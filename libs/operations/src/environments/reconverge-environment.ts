import { Injectable } from '@nestjs/common';
import { AuditRepository, EnvironmentRepository, PromotionRepository } from '@dockyard/db';
import { DeployStage } from '@dockyard/environments';
import { ConflictError } from '@dockyard/pipeline';
import { JobQueue } from '@dockyard/queue';
import type { SecretAuthor } from '@dockyard/secrets';
import { ObserveHosts } from '../drift/observe-hosts';
import { EnvironmentLookup, EnvironmentRef } from './environment-lookup';

/**
 * Put an environment back to what its stage records: the Release's digest deployed again to every
 * host, through the same deploy, health, switch and verification as a promotion (an admin's answer
 * to a drifted or down host). Asked through the API, done in a worker.
 */
@Injectable()
export class ReconvergeEnvironment {
  constructor(
    private readonly lookup: EnvironmentLookup,
    private readonly environments: EnvironmentRepository,
    private readonly promotions: PromotionRepository,
    private readonly audit: AuditRepository,
    private readonly queue: JobQueue,
    private readonly deployStage: DeployStage,
    private readonly observe: ObserveHosts,
  ) {}

  async request(ref: EnvironmentRef & { by: SecretAuthor }): Promise<{ queued: true; digest: string }> {
    const env = await this.lookup.environment(ref);
    if (!env.targets.length) throw new ConflictError(`the ${ref.stage} environment has no hosts`);
    const release = await this.promotions.currentRelease(env.stageId);
    if (!release) throw new ConflictError(`${ref.stage} holds nothing yet: there is nothing to converge to`);
    await this.audit.record({
      actor: ref.by.actor,
      channel: ref.by.channel,
      action: 'environment.reconverge',
      projectId: env.projectId,
      subject: env.id,
      detail: { stage: ref.stage, digest: release.digest },
    });
    await this.queue.add('environment.reconverge', { environmentId: env.id, by: ref.by.actor, at: Date.now() });
    return { queued: true, digest: release.digest };
  }

  /** The worker's part: deploy the recorded digest, then look at the hosts again. */
  async run(environmentId: string, by: string): Promise<string> {
    const env = await this.environments.find(environmentId);
    if (!env) return 'environment gone';
    const release = await this.promotions.currentRelease(env.stageId);
    if (!release) return 'nothing recorded';
    const result = await this.deployStage.deploy({
      projectId: env.projectId,
      stageId: env.stageId,
      stage: env.stage.name,
      image: await this.promotions.image(release.imageId),
      kind: 'deploy',
      promotionId: null,
      by,
    });
    await this.observe.environment(env);
    return result?.ok ? 'converged' : `failed: ${result?.reason ?? 'no hosts'}`;
  }
}
