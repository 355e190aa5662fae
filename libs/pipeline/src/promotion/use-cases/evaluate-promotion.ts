import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditRepository, PromotionFull, PromotionRepository } from '@dockyard/db';
import { JobQueue } from '@dockyard/queue';
import { RegistryClient } from '@dockyard/registry';
import { Clock } from '../../clock';
import { GateDecision, PROMOTION_GATES, PromotionGate } from '../gates/gate';
import { ProjectPolicies } from '../project-policies';
import type { ProjectRules, StageRules } from '../project-policy';
import { PromotionRecords, SETTLED } from '../promotion-records';
import { AFTER_STAGE_WRITE, AfterStageWrite } from '../steps/step';
import { WaitingNotice } from '../waiting-notice';

export interface EvaluatePromotionCommand {
  promotion: string | PromotionFull;
  /** In the worker, gates may do long work (run tests); on an HTTP request they schedule it. */
  inWorker?: boolean;
}

type Answer = { gate: string } & GateDecision;

/**
 * The engine: ask the target stage's gates, in order, under the rules in force now; record their
 * answers on the promotion; when every gate allows, write the stage (registry last, under the stage
 * lock) and run the steps that follow a write. Safe to run any number of times.
 */
@Injectable()
export class EvaluatePromotion {
  private readonly logger = new Logger(EvaluatePromotion.name);

  constructor(
    @Inject(PROMOTION_GATES) private readonly gates: PromotionGate[],
    @Inject(AFTER_STAGE_WRITE) private readonly steps: AfterStageWrite[],
    private readonly records: PromotionRecords,
    private readonly promotions: PromotionRepository,
    private readonly policies: ProjectPolicies,
    private readonly audit: AuditRepository,
    private readonly registry: RegistryClient,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    private readonly notice: WaitingNotice,
  ) {}

  async execute(command: EvaluatePromotionCommand): Promise<PromotionFull> {
    const p = typeof command.promotion === 'string' ? await this.records.get(command.promotion) : command.promotion;
    if (SETTLED.includes(p.status)) return p;
    const { rules, version } = await this.policies.forImage(p.project, p.image);
    const stage = rules.stages.find((s) => s.name === p.toStage.name);
    if (!stage)
      return this.records.finish(
        p,
        'blocked',
        `${p.toStage.name} is no longer a stage of this project`,
        'promotion.blocked',
      );

    const answers: Answer[] = [];
    for (const gate of this.gates) {
      const decision = await gate.check({ promotion: p, stage, policyVersion: version, inWorker: !!command.inWorker });
      answers.push({ gate: gate.name, ...decision });
      if (decision.verdict !== 'allow') break;
    }
    const last = answers[answers.length - 1];
    const recorded = answers.map((a) => ({ ...a, until: 'until' in a ? a.until?.toISOString() : undefined }));
    if (last?.verdict === 'refuse') {
      await this.promotions.update(p.id, { policyVersion: version });
      const outcome = last.failed ? 'failed' : 'blocked';
      return this.records.finish(p, outcome, last.reason, `promotion.${outcome}`, recorded);
    }
    if (last?.verdict === 'wait') return this.waitOn(p, last, version, recorded, !!command.inWorker);
    return this.write(p, stage, rules, version, recorded);
  }

  private async waitOn(
    p: PromotionFull,
    answer: Answer & { verdict: 'wait' },
    version: number,
    recorded: object[],
    inWorker: boolean,
  ): Promise<PromotionFull> {
    const status = answer.work ? (answer.doing ?? 'testing') : 'waiting';
    const unchanged = p.reason === answer.reason && p.status === status && p.policyVersion === version;
    // A scheduled look that finds the same wait schedules the next one; anything else already did.
    if (unchanged && !(answer.until && inWorker)) return p;
    if (!unchanged) {
      await this.promotions.update(p.id, { status, reason: answer.reason, policyVersion: version, gates: recorded });
      if (!answer.work) await this.notice.publish(p, answer.gate, answer.reason);
    }
    if (answer.until && !unchanged) {
      await this.audit.record({
        actor: 'system',
        channel: 'system',
        action: 'promotion.waiting',
        projectId: p.projectId,
        subject: p.id,
        detail: { gate: answer.gate, reason: answer.reason, until: answer.until.toISOString() },
      });
    }
    if (answer.until) await this.schedule(p.id, answer.until.getTime() - this.clock.now().getTime() + 50);
    if (answer.work && p.status !== status) await this.schedule(p.id, 0);
    return this.records.get(p.id);
  }

  private async write(
    p: PromotionFull,
    stage: StageRules,
    rules: ProjectRules,
    version: number,
    recorded: object[],
  ): Promise<PromotionFull> {
    const source = p.image.repository;
    const target = stage.repository ?? source;
    const entered = p.kind === 'promote' && !!p.buildId;
    const action = p.kind === 'rollback' ? 'stage.rolled_back' : entered ? 'stage.entered' : 'stage.promoted';
    const completedAt = new Date();
    let written: boolean;
    try {
      written = await this.promotions.writeStage(
        {
          promotionId: p.id,
          stageId: p.toStageId,
          imageId: p.imageId,
          digest: p.digest,
          buildId: p.buildId,
          byLogin: p.requestedBy?.login ?? p.pushedBy ?? 'system',
          completedAt,
          policyVersion: version,
          gates: recorded,
          audit: {
            actor: entered ? (p.pushedBy ?? 'system') : 'system',
            channel: entered ? p.channel : 'system',
            action,
            projectId: p.projectId,
            subject: entered ? p.digest : p.id,
            detail: {
              stage: stage.name,
              digest: p.digest,
              repository: target,
              forced: p.forced,
              policyVersion: version,
              promotion: p.id,
              ...(entered ? { buildId: p.buildId } : {}),
            },
          },
        },
        async () => {
          await this.registry.copy(source, p.digest, target, stage.name);
        },
      );
    } catch (err) {
      // The transaction rolled back: no Release row, the stage keeps its digest.
      const reason = `registry write failed: ${(err as Error).message}`;
      this.logger.warn(`promotion ${p.id}: ${reason}`);
      return this.records.finish(p, 'failed', reason, 'promotion.failed');
    }
    if (!written) return this.records.get(p.id);
    const done: PromotionFull = { ...p, status: 'promoted', reason: null, completedAt, policyVersion: version };
    for (const step of this.steps) {
      await step
        .run({ promotion: done, stage, rules })
        .catch((err: Error) => this.logger.warn(`promotion ${p.id}: ${step.name} failed: ${err.message}`));
    }
    return done;
  }

  private async schedule(promotionId: string, delayMs: number): Promise<void> {
    const delay = Math.max(0, delayMs);
    await this.queue.add('promotion.run', { promotionId, at: Date.now() + delay }, { delay });
  }
}
