import { Processor } from '@nestjs/bullmq';
import { CatalogueProcessor, JobHandlers, QUEUES } from '@dockyard/queue';
import { ReconvergeEnvironment } from '@dockyard/operations';
import { EvaluatePromotion } from '@dockyard/pipeline';

@Processor(QUEUES.promotions)
export class PromotionsProcessor extends CatalogueProcessor {
  readonly handlers: JobHandlers = {
    'promotion.run': async (data) =>
      (await this.evaluate.execute({ promotion: data.promotionId, inWorker: true })).status,
    'environment.reconverge': (data) => this.reconverge.run(data.environmentId, data.by),
  };

  constructor(
    private readonly evaluate: EvaluatePromotion,
    private readonly reconverge: ReconvergeEnvironment,
  ) {
    super();
  }
}
