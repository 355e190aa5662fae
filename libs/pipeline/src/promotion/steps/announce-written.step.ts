import { Injectable } from '@nestjs/common';
import { PromotionEvents } from '@dockyard/events';
import { AfterStageWrite, StageWrittenContext } from './step';

/**
 * promotion.promoted (or stage.rolled_back) for the event stream and outgoing hooks, first of the
 * steps. A build's own entry into the first stage is told by its build.passed event instead.
 */
@Injectable()
export class AnnounceWrittenStep implements AfterStageWrite {
  readonly name = 'announce-written';

  constructor(private readonly events: PromotionEvents) {}

  async run({ promotion }: StageWrittenContext): Promise<void> {
    if (promotion.kind === 'promote' && promotion.buildId) return;
    await this.events.written(promotion);
  }
}
