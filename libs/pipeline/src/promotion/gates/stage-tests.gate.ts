import { Injectable } from '@nestjs/common';
import { AuditRepository, BuildRepository, PromotionRepository } from '@dockyard/db';
import { RegistryClient } from '@dockyard/registry';
import { TestSuite } from '../../test-suite';
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
  ) {}

  async check({ promotion: p, stage, inWorker }: GateContext): Promise<GateDecision> {
    if (p.kind !== 'promote' || !stage.test.length) return allow();
    const failed = p.testRuns.find((t) => t.status !== 'passed' && t.finishedAt);
    if (failed) return refuse(`test ${failed.name} failed${failed.reason ? `: ${failed.reason}` : ''}`);
    const passed = new Set(p.testRuns.filter((t) => t.status === 'passed').map((t) => t.name));
    if (stage.test.every((t) => passed.has(t.name))) return allow();
    const reason = `running ${stage.test.length} test(s) before ${stage.name}`;
    if (!inWorker) return wait(reason, { work: 'worker' });
    const failure = await this.tests.run({
      image: `${this.registry.engineRef(p.image.repository)}@${p.digest}`,
      tests: stage.test,
      recorder: {
        create: (tests) => this.promotions.createTestRuns(p.id, tests),
        update: (runId, data) => this.builds.updateTestRun(runId, data),
      },
      labels: { 'dev.dockyard.promotion': p.id },
    });
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
