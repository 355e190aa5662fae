import { Processor } from '@nestjs/bullmq';
import { CatalogueProcessor, JobHandlers, QUEUES } from '@dockyard/queue';
import { PromotionService } from '@dockyard/pipeline';

@Processor(QUEUES.promotions)
export class PromotionsProcessor extends CatalogueProcessor {
  readonly handlers: JobHandlers = {
    'promotion.run': async (data) => (await this.promotions.evaluate(data.promotionId, true)).status,
  };

  constructor(private readonly promotions: PromotionService) {
    super();
  }
}
