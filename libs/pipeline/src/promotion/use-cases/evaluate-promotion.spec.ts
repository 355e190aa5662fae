import type { AuditRepository, PromotionFull, PromotionRepository } from '@dockyard/db';
import type { JobQueue } from '@dockyard/queue';
import type { RegistryClient } from '@dockyard/registry';
import type { Clock } from '../../clock';
import { GateDecision, PromotionGate, allow, refuse, wait } from '../gates/gate';
import type { ProjectPolicies } from '../project-policies';
import { DEFAULT_POLICY } from '../project-policy';
import type { PromotionRecords } from '../promotion-records';
import type { AfterStageWrite } from '../steps/step';
import { EvaluatePromotion } from './evaluate-promotion';
import { WaitingNotice } from '../waiting-notice';

type Double<T> = { [K in keyof T]: jest.Mock };

const promotion = {
  id: 'p1',
  projectId: 'proj',
  kind: 'promote',
  status: 'waiting',
  reason: null,
  forced: false,
  digest: 'sha256:abc',
  imageId: 'img',
  toStageId: 'stage-prod',
  buildId: null,
  pushedBy: null,
  policyVersion: null,
  image: { repository: 'acme/web' },
  project: { owner: 'acme', name: 'web' },
  toStage: { name: 'prod' },
  requestedBy: { login: 'alice' },
  approvals: [],
  testRuns: [],
} as unknown as PromotionFull;

function setup(decisions: GateDecision[]) {
  const gates: PromotionGate[] = decisions.map((d, i) => ({ name: `g${i}`, check: jest.fn().mockResolvedValue(d) }));
  const step: AfterStageWrite = { name: 'after', run: jest.fn().mockResolvedValue(undefined) };
  const records: Double<Pick<PromotionRecords, 'get' | 'finish'>> = {
    get: jest.fn().mockResolvedValue(promotion),
    finish: jest.fn().mockResolvedValue({ ...promotion, status: 'blocked' }),
  };
  const promotions: Double<Pick<PromotionRepository, 'update' | 'writeStage'>> = {
    update: jest.fn(),
    writeStage: jest.fn(async (_input, registryWrite: () => Promise<void>) => {
      await registryWrite();
      return true;
    }),
  };
  const policies: Double<Pick<ProjectPolicies, 'forImage'>> = {
    forImage: jest.fn().mockResolvedValue({ rules: DEFAULT_POLICY, version: 4, problems: [], notes: [] }),
  };
  const audit: Double<Pick<AuditRepository, 'record'>> = { record: jest.fn() };
  const registry: Double<Pick<RegistryClient, 'copy'>> = { copy: jest.fn() };
  const queue: Double<Pick<JobQueue, 'add'>> = { add: jest.fn() };
  const notice: Double<Pick<WaitingNotice, 'publish'>> = { publish: jest.fn() };
  const clock: Pick<Clock, 'now'> = { now: () => new Date('2030-01-01T00:00:00Z') };
  const engine = new EvaluatePromotion(
    gates,
    [step],
    records as unknown as PromotionRecords,
    promotions as unknown as PromotionRepository,
    policies as unknown as ProjectPolicies,
    audit as unknown as AuditRepository,
    registry as unknown as RegistryClient,
    queue as unknown as JobQueue,
    clock as Clock,
    notice as unknown as WaitingNotice,
  );
  return { engine, gates, step, records, promotions, audit, registry, queue, notice };
}

describe('EvaluatePromotion (the gate engine)', () => {
  it('writes the stage, registry last, when every gate allows, then runs the steps', async () => {
    const { engine, gates, promotions, registry, step } = setup([allow(), allow()]);
    const done = await engine.execute({ promotion });
    expect(done.status).toBe('promoted');
    for (const g of gates) expect(g.check).toHaveBeenCalledWith(expect.objectContaining({ policyVersion: 4 }));
    expect(promotions.writeStage).toHaveBeenCalledWith(
      expect.objectContaining({
        promotionId: 'p1',
        byLogin: 'alice',
        policyVersion: 4,
        gates: [
          { gate: 'g0', verdict: 'allow' },
          { gate: 'g1', verdict: 'allow' },
        ],
        audit: expect.objectContaining({ action: 'stage.promoted' }),
      }),
      expect.any(Function),
    );
    expect(registry.copy).toHaveBeenCalledWith('acme/web', 'sha256:abc', 'acme/web', 'prod');
    expect(step.run).toHaveBeenCalledWith(expect.objectContaining({ stage: DEFAULT_POLICY.stages[2] }));
  });

  it('stops at the first gate that waits, records its answer, and looks again when it said', async () => {
    const until = new Date('2030-01-01T00:01:00Z');
    const { engine, gates, promotions, queue, audit } = setup([wait('frozen', { until }), allow()]);
    await engine.execute({ promotion });
    expect(gates[1].check).not.toHaveBeenCalled();
    expect(promotions.writeStage).not.toHaveBeenCalled();
    expect(promotions.update).toHaveBeenCalledWith('p1', {
      status: 'waiting',
      reason: 'frozen',
      policyVersion: 4,
      gates: [{ gate: 'g0', verdict: 'wait', reason: 'frozen', until: until.toISOString() }],
    });
    expect(audit.record).toHaveBeenCalledWith(expect.objectContaining({ action: 'promotion.waiting' }));
    expect(queue.add).toHaveBeenCalledWith('promotion.run', expect.anything(), { delay: 60_050 });
  });

  it('hands work to the worker as "testing"', async () => {
    const { engine, promotions, queue } = setup([wait('running 1 test(s) before prod', { work: 'worker' })]);
    await engine.execute({ promotion });
    expect(promotions.update).toHaveBeenCalledWith('p1', expect.objectContaining({ status: 'testing' }));
    expect(queue.add).toHaveBeenCalledWith('promotion.run', expect.anything(), { delay: 0 });
  });

  it('blocks the promotion on a refusal, with the reason', async () => {
    const { engine, records, promotions } = setup([refuse('test smoke failed')]);
    await engine.execute({ promotion });
    expect(records.finish).toHaveBeenCalledWith(promotion, 'blocked', 'test smoke failed', 'promotion.blocked', [
      { gate: 'g0', verdict: 'refuse', reason: 'test smoke failed' },
    ]);
    expect(promotions.writeStage).not.toHaveBeenCalled();
  });

  it('fails the promotion and keeps the stage when the registry write fails', async () => {
    const { engine, records, promotions, step } = setup([allow()]);
    promotions.writeStage.mockRejectedValue(new Error('manifest unknown'));
    await engine.execute({ promotion });
    expect(records.finish).toHaveBeenCalledWith(
      promotion,
      'failed',
      'registry write failed: manifest unknown',
      'promotion.failed',
    );
    expect(step.run).not.toHaveBeenCalled();
  });

  it("records a build's entry into the first stage as the pusher's, through the same write", async () => {
    const { engine, promotions } = setup([allow()]);
    await engine.execute({
      promotion: { ...promotion, buildId: 'b1', pushedBy: 'bob', requestedBy: null, channel: 'webhook' },
    });
    expect(promotions.writeStage).toHaveBeenCalledWith(
      expect.objectContaining({
        buildId: 'b1',
        byLogin: 'bob',
        audit: expect.objectContaining({ action: 'stage.entered', actor: 'bob', channel: 'webhook' }),
      }),
      expect.any(Function),
    );
  });
});
