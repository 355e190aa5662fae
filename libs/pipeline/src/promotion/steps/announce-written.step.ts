import { Injectable } from '@nestjs/common';
import { PromotionEvents } from '@dockyard/events';
import { AfterStageWrite, StageWrittenContext } from './step';

/** promotion.promoted (or stage.rolled_back) for the event stream and outgoing hooks, first of the steps. */
@Injectable()
export class AnnounceWrittenStep implements AfterStageWrite {
  readonly name = 'announce-written';

  constructor(private readonly events: PromotionEvents) {}

  run({ promotion }: StageWrittenContext): Promise<void> {
    return this.events.written(promotion);
  }
}
