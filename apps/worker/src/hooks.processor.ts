import { Processor } from '@nestjs/bullmq';
import { DelayedError } from 'bullmq';
import { DeliverEvent } from '@dockyard/events';
import { CatalogueProcessor, JobHandlers, QUEUES } from '@dockyard/queue';

/** How long a delivery waits for an earlier event to the same hook before it looks again (not an attempt). */
const ORDER_WAIT_MS = 250;

@Processor(QUEUES.hooks, { concurrency: 4 })
export class HooksProcessor extends CatalogueProcessor {
  readonly handlers: JobHandlers = {
    'hook.deliver': async (data, job, token) => {
      const outcome = await this.deliver.execute(data.deliveryId, {
        number: job.attemptsMade + 1,
        max: job.opts.attempts ?? 1,
      });
      if (outcome !== 'wait') return outcome;
      await job.moveToDelayed(Date.now() + ORDER_WAIT_MS, token);
      throw new DelayedError();
    },
  };

  constructor(private readonly deliver: DeliverEvent) {
    super();
  }
}
