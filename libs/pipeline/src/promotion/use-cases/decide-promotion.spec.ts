import type { AuditRepository, PromotionFull, PromotionRepository, User } from '@dockyard/db';
import type { PromotionEvents } from '@dockyard/events';
import { ConflictError, ForbiddenError } from '../../errors';
import type { ApprovalEligibility } from '../approval-eligibility';
import type { PromotionRecords } from '../promotion-records';
import type { Requester } from '../requester';
import { DecidePromotion } from './decide-promotion';
import type { EvaluatePromotion } from './evaluate-promotion';

const waiting = { id: 'p1', projectId: 'proj', status: 'waiting' } as PromotionFull;
const bob: Requester = { user: { id: 'u-bob', login: 'bob', role: 'approver' } as User, channel: 'api', actor: 'bob' };

function setup(p: PromotionFull, refusal: string | null) {
  const records: Pick<PromotionRecords, 'get' | 'finish'> = {
    get: jest.fn().mockResolvedValue(p),
    finish: jest.fn().mockResolvedValue({ ...p, status: 'rejected' }),
  };
  const evaluate: Pick<EvaluatePromotion, 'execute'> = {
    execute: jest.fn().mockResolvedValue({ ...p, status: 'promoted' }),
  };
  const promotions: Pick<PromotionRepository, 'approve'> = { approve: jest.fn() };
  const eligibility: Pick<ApprovalEligibility, 'refusalFor'> = { refusalFor: jest.fn().mockResolvedValue(refusal) };
  const audit: Pick<AuditRepository, 'record'> = { record: jest.fn() };
  const events: Pick<PromotionEvents, 'rejected'> = { rejected: jest.fn() };
  const useCase = new DecidePromotion(
    records as PromotionRecords,
    evaluate as EvaluatePromotion,
    promotions as PromotionRepository,
    eligibility as ApprovalEligibility,
    audit as AuditRepository,
    events as PromotionEvents,
  );
  return { useCase, records, evaluate, promotions, audit, events };
}

describe('DecidePromotion', () => {
  it('refuses someone the rules do not allow, audits it, records nothing', async () => {
    const why = 'bob pushed or authored a commit in this promotion (bob) and may not approve it';
    const { useCase, promotions, audit, evaluate } = setup(waiting, why);
    await expect(useCase.execute({ promotionId: 'p1', approved: true, requester: bob })).rejects.toThrow(
      new ForbiddenError(why),
    );
    expect(audit.record).toHaveBeenCalledWith(
      expect.objectContaining({ action: 'approval.refused', actor: 'bob', detail: { reason: why } }),
    );
    expect(promotions.approve).not.toHaveBeenCalled();
    expect(evaluate.execute).not.toHaveBeenCalled();
  });

  it('records an approval and lets the gates decide again', async () => {
    const { useCase, promotions, evaluate } = setup(waiting, null);
    const after = await useCase.execute({ promotionId: 'p1', approved: true, comment: 'lgtm', requester: bob });
    expect(promotions.approve).toHaveBeenCalledWith({
      promotionId: 'p1',
      userId: 'u-bob',
      approved: true,
      comment: 'lgtm',
      channel: 'api',
    });
    expect(evaluate.execute).toHaveBeenCalledWith({ promotion: 'p1' });
    expect(after.status).toBe('promoted');
  });

  it('ends the promotion on a rejection, and refuses a decision on a settled one', async () => {
    const { useCase, records, events } = setup(waiting, null);
    await useCase.execute({ promotionId: 'p1', approved: false, comment: 'no', requester: bob });
    expect(records.finish).toHaveBeenCalledWith(waiting, 'rejected', 'rejected by bob: no');
    expect(events.rejected).toHaveBeenCalledWith(waiting, 'bob', 'rejected by bob: no');
    const settled = setup({ ...waiting, status: 'promoted' } as PromotionFull, null);
    await expect(settled.useCase.execute({ promotionId: 'p1', approved: true, requester: bob })).rejects.toThrow(
      ConflictError,
    );
  });
});
