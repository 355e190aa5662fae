import { Injectable } from '@nestjs/common';
import { SignOffRepository } from '@dockyard/db';
import { RangeContributors } from '../range-contributors';
import { short } from '../requester';
import { signOffRefusal, testersOf } from '../signoff-rules';
import { GateContext, GateDecision, PromotionGate, allow, refuse, wait } from './gate';

/**
 * Has a tester signed off the digest in the stage it leaves? A "fails" there keeps it from going
 * further (whatever the policy); a stage whose policy has `signoff` takes only what a tester
 * allowed to sign off (role or listed login, separation of duties when on) said "passes" to.
 */
@Injectable()
export class SignOffGate implements PromotionGate {
  readonly name = 'signoff';

  constructor(
    private readonly signoffs: SignOffRepository,
    private readonly contributors: RangeContributors,
  ) {}

  async check({ promotion: p, stage }: GateContext): Promise<GateDecision> {
    if (p.kind !== 'promote' || !p.fromStage || p.forced) return allow();
    const said = await this.signoffs.latest(p.projectId, p.fromStage, p.digest);
    const failed = said.find((s) => s.result === 'fails');
    if (failed) {
      return refuse(
        `${failed.login} signed off ${short(p.digest)} in ${p.fromStage} as failing${failed.comment ? `: ${failed.comment}` : ''}`,
      );
    }
    const rule = stage.signoff;
    if (!rule?.required) return allow();
    const asked = `needs a sign-off ("tested: passes") of ${short(p.digest)} in ${p.fromStage} by ${testersOf(rule)}`;
    const passes = said.filter((s) => s.result === 'passes');
    if (!passes.length) return wait(asked);
    let people: string[] = [];
    if (stage.separationOfDuties) {
      const found = await this.contributors.of(p);
      if ('unreadable' in found)
        return wait(`separation of duties cannot be checked: ${found.unreadable}; it waits until it can`);
      people = found.people;
    }
    const why = passes.map((s) => signOffRefusal(s.user, rule, stage.separationOfDuties ? people : null));
    if (why.some((w) => w === null)) return allow();
    return wait(`${asked}; not counted: ${why.join('; ')}`);
  }
}
