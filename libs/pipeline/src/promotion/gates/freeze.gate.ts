import { Injectable } from '@nestjs/common';
import { Clock } from '../../clock';
import { frozenUntil } from '../policy';
import { GateContext, GateDecision, PromotionGate, allow, wait } from './gate';

/** Is the stage inside a freeze window now? Then wait until it ends (a forced promotion goes through). */
@Injectable()
export class FreezeGate implements PromotionGate {
  readonly name = 'freeze';

  constructor(private readonly clock: Clock) {}

  async check({ promotion, stage }: GateContext): Promise<GateDecision> {
    if (promotion.forced) return allow();
    const until = frozenUntil(stage.freeze, this.clock.now());
    return until ? wait(`${stage.name} is frozen until ${until.toISOString()}`, { until }) : allow();
  }
}
