import { Injectable } from '@nestjs/common';
import { DeployRepository, DeployStatus, EnvironmentRepository } from '@dockyard/db';
import { EventPublisher } from './event-publisher';

/** deploy.started / deploy.verified / deploy.failed / deploy.rolled_back, read from the deploy's record. */
@Injectable()
export class DeployEvents {
  constructor(
    private readonly deploys: DeployRepository,
    private readonly environments: EnvironmentRepository,
    private readonly events: EventPublisher,
  ) {}

  async changed(deployId: string, status: DeployStatus): Promise<void> {
    if (status === 'queued' || status === 'verifying') return;
    const deploy = await this.deploys.find(deployId);
    const env = deploy && (await this.environments.find(deploy.environmentId));
    if (!deploy || !env) return;
    const common = {
      project: { id: env.projectId, owner: env.project.owner, name: env.project.name },
      stage: env.stage.name,
      digest: deploy.digest,
      actor: deploy.byLogin ?? 'system',
      subject: deploy.id,
    };
    const data = { environment: env.stage.name, deployId: deploy.id, kind: deploy.kind };
    const reason = deploy.reason ?? status;
    if (status === 'running') await this.events.publish({ ...common, type: 'deploy.started', data });
    else if (status === 'succeeded') await this.events.publish({ ...common, type: 'deploy.verified', data });
    else if (deploy.rolledBack)
      await this.events.publish({
        ...common,
        type: 'deploy.rolled_back',
        data: { ...data, reason, previousDigest: deploy.previousDigest },
      });
    else await this.events.publish({ ...common, type: 'deploy.failed', data: { ...data, reason } });
  }
}
