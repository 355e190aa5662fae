import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { BuildRepository, PromotionRepository } from '@dockyard/db';
import { DockerEngine, LABELS } from '@dockyard/docker';
import { Sweeper } from '@dockyard/core';
import { JobQueue } from '@dockyard/queue';
import { WebhookIntake } from './intake.service';
import { PromotionRecords } from './promotion/promotion-records';

/** A build (or a promotion's stage tests) whose worker was lost this many times ends instead of another try. */
export const LOST_WORKER_LIMIT = 3;

/**
 * Postgres is the record of truth: every build still `queued` a while after it was recorded gets
 * its job (re)added. Deterministic job ids make this harmless when the job is already there.
 * It is also the watchdog: a build `running` without a live lease lost its worker and is requeued
 * (or ends in `error` after LOST_WORKER_LIMIT tries), so is a promotion `testing` (its tests run
 * again, or it ends `failed`), and this worker's engine is swept of containers left by attempts that
 * no longer hold their build or promotion.
 */
@Injectable()
export class Reconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(Reconciler.name);
  private readonly sweeper = new Sweeper(
    (graceMs: number = 5_000) => this.pass(graceMs),
    0,
    (err) => this.logger.warn(`reconcile: ${err.message}`),
  );

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly builds: BuildRepository,
    private readonly promotions: PromotionRepository,
    private readonly intake: WebhookIntake,
    private readonly docker: DockerEngine,
    private readonly records: PromotionRecords,
    private readonly queue: JobQueue,
  ) {}

  onApplicationBootstrap(): void {
    this.sweeper.every(this.config.worker.reconcileInterval, { now: true });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweeper.stop();
  }

  /** One pass; returns how many builds were queued again. */
  reconcile(graceMs = 5_000): Promise<number> {
    return this.sweeper.run(graceMs);
  }

  private async pass(graceMs: number): Promise<number> {
    try {
      await this.endLostAttempts();
      await this.endLostTests();
      await this.sweepContainers();
      const stale = await this.builds.queuedBefore(new Date(Date.now() - graceMs));
      let queued = 0;
      for (const { id } of stale) {
        if (!(await this.intake.enqueue(id, true))) break;
        queued++;
      }
      if (queued)
        this.logger.log(`queued ${queued} build(s) again (recorded while the queue was away, or handed back)`);
      return queued;
    } catch (err) {
      this.logger.warn(`reconcile: ${(err as Error).message}`);
      return 0;
    }
  }

  /** Builds `running` whose lease ran out: their worker died or lost its connections. */
  private async endLostAttempts(): Promise<void> {
    const now = new Date();
    for (const build of await this.builds.expiredLeases(now)) {
      const since = build.leaseUntil ? `its lease ran out at ${build.leaseUntil.toISOString()}` : 'it has no lease';
      if (build.attempts >= LOST_WORKER_LIMIT) {
        const reason = `the worker running it was lost ${build.attempts} times (${since})`;
        if (await this.builds.finishLost(build.id, reason, now)) this.logger.warn(`build ${build.id}: ${reason}`);
      } else if (
        await this.builds.requeue(build.id, `requeued: the worker running it was lost (${since})`, {
          expiredBefore: now,
        })
      ) {
        this.logger.warn(`build ${build.id} requeued: ${since}`);
        await this.intake.enqueue(build.id, true);
      }
    }
  }

  /** Promotions `testing` whose attempt's lease ran out: their tests run again, or they end `failed`. */
  private async endLostTests(): Promise<void> {
    const now = new Date();
    for (const p of await this.promotions.expiredTests(now)) {
      const since = `its lease ran out at ${p.leaseUntil?.toISOString()}`;
      if (!(await this.promotions.releaseTests(p.id, { expiredBefore: now }))) continue;
      if (p.attempts >= LOST_WORKER_LIMIT) {
        const reason = `the worker running its stage tests was lost ${p.attempts} times (${since})`;
        await this.promotions.endUnfinishedTestRuns(p.id, 'the worker running it was lost');
        this.logger.warn(`promotion ${p.id}: ${reason}`);
        await this.records.finish(await this.records.get(p.id), 'failed', reason, 'promotion.failed');
      } else {
        // Its test runs are replaced when the tests run again.
        this.logger.warn(`promotion ${p.id}: its tests run again (the worker running them was lost; ${since})`);
        await this.queue.add('promotion.run', { promotionId: p.id, at: now.getTime() });
      }
    }
  }

  /**
   * Containers of this deployment on this worker's engine that nothing runs any more: a build's
   * whose attempt no longer holds the build (the worker died, or the engine came back after the
   * build moved on), a promotion's whose attempt no longer holds its stage tests.
   */
  private async sweepContainers(): Promise<void> {
    let containers;
    try {
      containers = await this.docker.containers();
    } catch {
      return; // the engine is away: the next pass sweeps
    }
    // A promotion's test container also carries its image's build label: the promotion label decides.
    const owned = containers.map((c) => {
      const promotion = c.labels[LABELS.promotion];
      return { c, promotion, build: promotion ? undefined : c.labels[LABELS.build] };
    });
    const ids = (key: 'build' | 'promotion') => [
      ...new Set(owned.map((o) => o[key]).filter((id): id is string => !!id)),
    ];
    const buildIds = ids('build');
    const promotionIds = ids('promotion');
    const live = buildIds.length ? await this.builds.liveAttempts(buildIds) : new Map<string, string>();
    const testing = promotionIds.length
      ? await this.promotions.liveTestAttempts(promotionIds)
      : new Map<string, string>();
    for (const { c, promotion, build } of owned) {
      const attempt = c.labels[LABELS.attempt];
      const orphan = promotion ? testing.get(promotion) !== attempt : !!build && live.get(build) !== attempt;
      if (!orphan) continue;
      await this.docker.removeContainer(c.id).catch(() => undefined);
      this.logger.log(
        `removed container ${c.id.slice(0, 12)} left by ${build ? `build ${build}` : `promotion ${promotion}`}`,
      );
    }
  }
}
