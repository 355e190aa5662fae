import type { PromotionFull, TestRun } from '@dockyard/db';
import type { Clock } from '../../clock';
import type { ApprovalEligibility } from '../approval-eligibility';
import { DEFAULT_POLICY, type StageRules } from '../project-policy';
import { ApprovalsGate } from './approvals.gate';
import { FreezeGate } from './freeze.gate';
import type { GateContext } from './gate';
import { StageTestsGate } from './stage-tests.gate';

const prod = DEFAULT_POLICY.stages[2];
const promotion = (over: Partial<PromotionFull> = {}) =>
  ({ id: 'p1', projectId: 'x', kind: 'promote', forced: false, approvals: [], testRuns: [], ...over }) as PromotionFull;
const ctx = (stage: Partial<StageRules> = {}, p: Partial<PromotionFull> = {}, inWorker = false): GateContext => ({
  promotion: promotion(p),
  stage: { ...prod, ...stage },
  policyVersion: 1,
  inWorker,
});
const clockAt = (iso: string): Pick<Clock, keyof Clock> => ({ now: () => new Date(iso), set: jest.fn() });

describe('FreezeGate', () => {
  const freeze = [{ from: '2030-01-01T00:00:00Z', to: '2030-01-02T00:00:00Z' }];

  it('waits until the window ends, reading time from the clock only', async () => {
    const gate = new FreezeGate(clockAt('2030-01-01T12:00:00Z') as Clock);
    expect(await gate.check(ctx({ freeze }))).toEqual({
      verdict: 'wait',
      reason: 'prod is frozen until 2030-01-02T00:00:00.000Z',
      until: new Date('2030-01-02T00:00:00Z'),
    });
    expect(await new FreezeGate(clockAt('2030-01-02T00:00:00Z') as Clock).check(ctx({ freeze }))).toEqual({
      verdict: 'allow',
    });
  });

  it('lets a forced promotion through', async () => {
    const gate = new FreezeGate(clockAt('2030-01-01T12:00:00Z') as Clock);
    expect((await gate.check(ctx({ freeze }, { forced: true }))).verdict).toBe('allow');
  });
});

describe('ApprovalsGate', () => {
  const clock = clockAt('2030-01-01T00:00:00Z') as Clock;
  const eligibility = (count: Awaited<ReturnType<ApprovalEligibility['count']>>) =>
    ({ count: jest.fn().mockResolvedValue(count), whyNot: jest.fn(), refusalFor: jest.fn() }) as Pick<
      ApprovalEligibility,
      keyof ApprovalEligibility
    > as ApprovalEligibility;

  it('waits for the approvals that count', async () => {
    const gate = new ApprovalsGate(eligibility({ valid: 1, discounted: ['bob pushed…'] }), clock);
    expect(await gate.check(ctx({ approvals: 2, approvers: ['bob', 'carol'] }))).toEqual({
      verdict: 'wait',
      reason: 'needs 1 more approval(s) for prod from bob, carol',
    });
    expect((await gate.check(ctx({ approvals: 1 }))).verdict).toBe('allow');
  });

  it('waits, closed, when the history of the range cannot be read (finding 4)', async () => {
    const gate = new ApprovalsGate(eligibility({ unreadable: 'the history of abc cannot be read (gone)' }), clock);
    expect(await gate.check(ctx())).toEqual({
      verdict: 'wait',
      reason: 'separation of duties cannot be checked: the history of abc cannot be read (gone); it waits until it can',
      until: new Date('2030-01-01T00:01:00Z'),
    });
  });

  it('does not ask when no approval is needed or an admin forced it', async () => {
    const e = eligibility({ valid: 0, discounted: [] });
    const gate = new ApprovalsGate(e, clock);
    expect((await gate.check(ctx({ approvals: 0 }))).verdict).toBe('allow');
    expect((await gate.check(ctx({}, { forced: true }))).verdict).toBe('allow');
    expect(e.count).not.toHaveBeenCalled();
  });
});

describe('StageTestsGate', () => {
  const test = [{ name: 'smoke', run: 'true', network: false, readOnly: true }];
  const run = (over: Partial<TestRun>) =>
    ({ name: 'smoke', status: 'passed', finishedAt: new Date(), ...over }) as TestRun;
  /** A lease held by this attempt (or, with `held: false`, by a live attempt of another worker). */
  const lease = (held = true) => ({
    hold: jest.fn(async (_id: string, work: (a: object) => Promise<unknown>) =>
      held
        ? { held: true, value: await work({ token: 'attempt-1', number: 1, signal: new AbortController().signal }) }
        : { held: false, why: 'another worker is running its tests' },
    ),
  });
  const make = (result: string | null = null, held = true) => {
    const suite = { run: jest.fn().mockResolvedValue(result) };
    const audit = { record: jest.fn(), list: jest.fn() };
    const gate = new StageTestsGate(
      suite as never,
      { engineRef: (repo: string) => `registry:5000/${repo}` } as never,
      { createTestRuns: jest.fn() } as never,
      { updateTestRun: jest.fn() } as never,
      audit as never,
      lease(held) as never,
    );
    return { gate, suite, audit };
  };

  it('labels the containers with the attempt holding the lease, and leaves tests another attempt holds to it', async () => {
    const { gate, suite } = make();
    await gate.check(ctx({ test }, { id: 'p1', image: { repository: 'r' } } as never, true));
    expect(suite.run).toHaveBeenCalledWith(
      expect.objectContaining({ labels: { 'dev.dockyard.promotion': 'p1', 'dev.dockyard.attempt': 'attempt-1' } }),
    );
    const other = make(null, false);
    expect(await other.gate.check(ctx({ test }, { id: 'p1', image: { repository: 'r' } } as never, true))).toEqual({
      verdict: 'wait',
      reason: 'running 1 test(s) before prod: another worker is running its tests',
      work: 'worker',
    });
    expect(other.suite.run).not.toHaveBeenCalled();
  });

  it('asks for a worker on an HTTP request, runs the suites there', async () => {
    const { gate, suite, audit } = make();
    expect(await gate.check(ctx({ test }))).toEqual({
      verdict: 'wait',
      reason: 'running 1 test(s) before prod',
      work: 'worker',
    });
    expect(suite.run).not.toHaveBeenCalled();
    expect(
      await gate.check(ctx({ test }, { image: { repository: 'acme/web' }, digest: 'sha256:1' } as never, true)),
    ).toEqual({
      verdict: 'allow',
    });
    expect(suite.run).toHaveBeenCalledWith(
      expect.objectContaining({ image: 'registry:5000/acme/web@sha256:1', tests: test }),
    );
    expect(audit.record).toHaveBeenCalledWith(expect.objectContaining({ action: 'promotion.tested' }));
  });

  it('refuses on a failure, allows once every suite passed, skips rollbacks', async () => {
    const { gate } = make('test smoke failed: exit code 1');
    expect(await gate.check(ctx({ test }, { image: { repository: 'r' } } as never, true))).toEqual({
      verdict: 'refuse',
      reason: 'test smoke failed: exit code 1',
    });
    expect((await gate.check(ctx({ test }, { testRuns: [run({})] }))).verdict).toBe('allow');
    expect(
      (await gate.check(ctx({ test }, { testRuns: [run({ status: 'failed', reason: 'exit code 1' })] }))).verdict,
    ).toBe('refuse');
    expect((await gate.check(ctx({ test }, { kind: 'rollback' }))).verdict).toBe('allow');
  });
});
