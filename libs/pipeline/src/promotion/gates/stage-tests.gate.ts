import { Injectable } from '@nestjs/common';
import { AuditRepository, BuildRepository, PromotionRepository } from '@dockyard/db';
import { LABELS } from '@dockyard/docker';
import { RegistryClient } from '@dockyard/registry';
import { TestSuite } from '../../test-suite';
import { StageTestsLease } from '../stage-tests-lease';
import { GateContext, GateDecision, PromotionGate, allow, refuse, wait } from './gate';

/**
 * Have the stage's required suites passed in containers from this digest? They run in the worker
 * (never on an HTTP request); a failure refuses the promotion. Rollbacks put back a digest that
 * passed before, so they are not tested again.
 */
@Injectable()
export class StageTestsGate implements PromotionGate {
  readonly name = 'tests';

  constructor(
    private readonly tests: TestSuite,
    private readonly registry: RegistryClient,
    private readonly promotions: PromotionRepository,
    private readonly builds: BuildRepository,
    private readonly audit: AuditRepository,
    private readonly lease: StageTestsLease,
  ) {}

  async check({ promotion: p, stage, inWorker }: GateContext): Promise<GateDecision> {
    if (p.kind !== 'promote' || !stage.test.length) return allow();
    const failed = p.testRuns.find((t) => t.status !== 'passed' && t.finishedAt);
    if (failed) return refuse(`test ${failed.name} failed${failed.reason ? `: ${failed.reason}` : ''}`);
    const passed = new Set(p.testRuns.filter((t) => t.status === 'passed').map((t) => t.name));
    if (stage.test.every((t) => passed.has(t.name))) return allow();
    const reason = `running ${stage.test.length} test(s) before ${stage.name}`;
    if (!inWorker) return wait(reason, { work: 'worker' });
    // One worker attempt at a time holds the tests (a lease); a dead one's are taken over.
    const outcome = await this.lease.hold(p.id, ({ token, signal }) =>
      this.tests.run({
        image: `${this.registry.engineRef(p.image.repository)}@${p.digest}`,
        tests: stage.test,
        recorder: {
          create: (tests) => this.promotions.createTestRuns(p.id, tests),
          update: (runId, data) => this.builds.updateTestRun(runId, data),
        },
        labels: { [LABELS.promotion]: p.id, [LABELS.attempt]: token },
        signal,
      }),
    );
    if (!outcome.held) return wait(`${reason}: ${outcome.why}`, { work: 'worker' });
    const failure = outcome.value;
    if (failure) return refuse(failure);
    await this.audit.record({
      actor: 'system',
      channel: 'system',
      action: 'promotion.tested',
      projectId: p.projectId,
      subject: p.id,
      detail: { stage: stage.name, tests: stage.test.map((t) => t.name) },
    });
    return allow();
  }
}
