import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import {
  DeployRepository,
  DeployStatus,
  EnvironmentRepository,
  GitHubDeploymentRepository,
  ProjectRepository,
  PromotionRepository,
} from '@dockyard/db';
import { DeploymentState, GitHubDeployments } from '@dockyard/github';
import { JobQueue } from '@dockyard/queue';

const STATE: Record<DeployStatus, DeploymentState> = {
  queued: 'queued',
  running: 'in_progress',
  verifying: 'in_progress',
  succeeded: 'success',
  failed: 'failure',
};
/** GitHub is never told an earlier state after a later one (a late retry must not go backwards). */
const RANK: Record<string, number> = { queued: 0, in_progress: 1, success: 2, failure: 2, inactive: 3 };

/**
 * Each deploy is a GitHub deployment of its environment: created when first announced, then its
 * statuses (queued, in_progress, success / failure) with the environment's URL and the deploy's
 * log, and on success the environment's older deployments marked inactive. Through the statuses
 * queue, so that GitHub being down delays this and fails nothing.
 */
@Injectable()
export class DeploymentPublisher {
  private readonly logger = new Logger(DeploymentPublisher.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly github: GitHubDeployments,
    private readonly queue: JobQueue,
    private readonly deploys: DeployRepository,
    private readonly environments: EnvironmentRepository,
    private readonly projects: ProjectRepository,
    private readonly promotions: PromotionRepository,
    private readonly records: GitHubDeploymentRepository,
  ) {}

  /** Ask for the deploy's state to be published; never throws (GitHub is not worth failing a deploy for). */
  async announce(deployId: string, status: DeployStatus): Promise<void> {
    if (!this.github.enabled) return;
    await this.queue.add('deployment.publish', { deployId, state: status }).catch((err: Error) => {
      this.logger.warn(`deployment ${deployId} (${status}) not queued for GitHub: ${err.message}`);
    });
  }

  /** The job's work: publish the deploy's *current* state. */
  async publish(deployId: string): Promise<void> {
    const deploy = await this.deploys.find(deployId);
    if (!deploy) return;
    const environment = await this.environments.find(deploy.environmentId);
    if (!environment) return;
    const project = await this.projects.get(environment.projectId);
    const where = { owner: project.owner, repo: project.name };
    const state = STATE[deploy.status];
    let record = await this.records.find(deployId);
    if (record && RANK[record.state] >= RANK[state]) return;
    if (!record) {
      const sha = await this.records.commitOf(project.id, deploy.digest);
      if (!sha) {
        this.logger.warn(`deploy ${deployId}: no commit is known for ${deploy.digest}; not published to GitHub`);
        return;
      }
      const stages = await this.promotions.stages(project.id);
      const githubId = await this.github.create({
        ...where,
        sha,
        environment: environment.stage.name,
        description: `${deploy.kind} of ${deploy.digest.slice(0, 19)} by Dockyard`,
        production: stages.at(-1)?.id === environment.stageId,
        payload: { dockyardDeploy: deploy.id, digest: deploy.digest },
      });
      record = await this.records.save({ deployId, environmentId: environment.id, githubId, state: 'created' });
    }
    await this.github.status({
      ...where,
      deploymentId: Number(record.githubId),
      state,
      description: deploy.reason && state === 'failure' ? deploy.reason : `${deploy.status}`,
      environmentUrl: environment.url,
      logUrl: `${this.config.http.publicUrl}/api/v1/deploys/${deploy.id}/logs`,
    });
    await this.records.save({ ...record, githubId: Number(record.githubId), state });
    if (state !== 'success') return;
    for (const older of await this.records.othersLive(environment.id, deployId)) {
      await this.github.status({
        ...where,
        deploymentId: Number(older.githubId),
        state: 'inactive',
        description: `replaced by ${deploy.digest.slice(0, 19)}`,
        logUrl: `${this.config.http.publicUrl}/api/v1/deploys/${older.deployId}/logs`,
      });
      await this.records.save({ ...older, githubId: Number(older.githubId), state: 'inactive' });
    }
  }
}
