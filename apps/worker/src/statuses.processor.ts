import { Processor } from '@nestjs/bullmq';
import { CatalogueProcessor, JobHandlers, QUEUES } from '@dockyard/queue';
import { DeploymentPublisher } from '@dockyard/operations';
import { StatusPublisher } from '@dockyard/pipeline';

@Processor(QUEUES.statuses, { concurrency: 4 })
export class StatusesProcessor extends CatalogueProcessor {
  readonly handlers: JobHandlers = {
    'status.publish': (data) => this.statuses.publish(data.buildId, data.context),
    'deployment.publish': (data) => this.deployments.publish(data.deployId),
  };

  constructor(
    private readonly statuses: StatusPublisher,
    private readonly deployments: DeploymentPublisher,
  ) {
    super();
  }
}
