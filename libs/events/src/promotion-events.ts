import { Injectable } from '@nestjs/common';
import { Prisma, ReleaseRepository } from '@dockyard/db';
import { EventPublisher } from './event-publisher';

/** What the promotion events read of a promotion (PromotionFull has it all). */
export interface PromotionFacts {
  id: string;
  kind: 'promote' | 'rollback';
  digest: string;
  fromStage: string | null;
  forced: boolean;
  project: { id: string; owner: string; name: string };
  toStageId: string;
  toStage: { name: string };
  image: { sha: string };
  requestedBy?: { login: string } | null;
}

export interface WaitingFacts {
  for: 'approval' | 'freeze' | 'tests' | 'signoff' | 'other';
  waitingFor: string;
  approvals: { needed: number; given: number };
  /** Logins who may approve it now (the same refusal logic as the Approve button). */
  mayApprove: string[];
}

/** The promotion.* and stage.rolled_back events, one line at each emit point of the promotion use cases. */
@Injectable()
export class PromotionEvents {
  constructor(
    private readonly events: EventPublisher,
    private readonly releases: ReleaseRepository,
  ) {}

  waiting(p: PromotionFacts, w: WaitingFacts): Promise<void> {
    const url = this.events.links(p.project, p.id).promotion;
    return this.events.publish({
      ...this.common(p),
      type: 'promotion.waiting',
      data: { promotionId: p.id, from: p.fromStage, to: p.toStage.name, ...w, approveUrl: url, rejectUrl: url },
    });
  }

  /** The stage now holds the digest (written, committed): promotion.promoted, or stage.rolled_back. */
  async written(p: PromotionFacts, tx?: Prisma.TransactionClient): Promise<void> {
    const previousDigest = await this.releases.previousDigest(p.toStageId);
    if (p.kind === 'rollback')
      return this.events.publish(
        { ...this.common(p), type: 'stage.rolled_back', data: { promotionId: p.id, previousDigest } },
        tx,
      );
    return this.events.publish(
      {
        ...this.common(p),
        type: 'promotion.promoted',
        data: { promotionId: p.id, from: p.fromStage, to: p.toStage.name, forced: p.forced, previousDigest },
      },
      tx,
    );
  }

  failed(p: PromotionFacts, status: 'blocked' | 'failed', reason: string): Promise<void> {
    return this.events.publish({
      ...this.common(p),
      type: 'promotion.failed',
      data: { promotionId: p.id, to: p.toStage.name, status, reason },
    });
  }

  rejected(p: PromotionFacts, by: string, reason: string): Promise<void> {
    return this.events.publish({
      ...this.common(p),
      actor: by,
      type: 'promotion.rejected',
      data: { promotionId: p.id, to: p.toStage.name, by, reason },
    });
  }

  private common(p: PromotionFacts) {
    return {
      project: p.project,
      stage: p.toStage.name,
      digest: p.digest,
      commit: p.image.sha,
      actor: p.requestedBy?.login ?? 'system',
      subject: p.id,
    };
  }
}
