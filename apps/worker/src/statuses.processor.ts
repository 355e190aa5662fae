import { Processor } from '@nestjs/bullmq';
import { CatalogueProcessor, JobHandlers, QUEUES } from '@dockyard/queue';
import { StatusPublisher } from '@dockyard/pipeline';

@Processor(QUEUES.statuses, { concurrency: 4 })
export class StatusesProcessor extends CatalogueProcessor {
  readonly handlers: JobHandlers = {
    'status.publish': (data) => this.statuses.publish(data.buildId, data.context),
  };

  constructor(private readonly statuses: StatusPublisher) {
    super();
  }
}
