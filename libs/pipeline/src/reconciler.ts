import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { BuildRepository } from '@dockyard/db';
import { DockerEngine, LABELS } from '@dockyard/docker';
import { WebhookIntake } from './intake.service';

/** A build whose worker was lost this many times ends in `error` instead of another try. */
export const LOST_WORKER_LIMIT = 3;

/**
 * Postgres is the record of truth: every build still `queued` a while after it was recorded gets
 * its job (re)added. Deterministic job ids make this harmless when the job is already there.
 * It is also the watchdog: a build `running` without a live lease lost its worker and is requeued
 * (or ends in `error` after LOST_WORKER_LIMIT tries), and this worker's engine is swept of
 * containers left by attempts that no longer hold their build.
 */
@Injectable()
export class Reconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(Reconciler.name);
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly builds: BuildRepository,
    private readonly intake: WebhookIntake,
    private readonly docker: DockerEngine,
  ) {}

  onApplicationBootstrap(): void {
    void this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), this.config.worker.reconcileInterval);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass; returns how many builds were queued again. */
  async reconcile(graceMs = 5_000): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      await this.endLostAttempts();
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
    } finally {
      this.running = false;
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

  /**
   * Containers of this deployment on this worker's engine whose attempt no longer holds its build
   * (the worker died, or the engine came back after the build moved on) are removed.
   */
  private async sweepContainers(): Promise<void> {
    let containers;
    try {
      containers = await this.docker.containers({ [LABELS.build]: null });
    } catch {
      return; // the engine is away: the next pass sweeps
    }
    const ours = containers.filter((c) => c.labels[LABELS.build]);
    if (!ours.length) return;
    const live = await this.builds.liveAttempts([...new Set(ours.map((c) => c.labels[LABELS.build]))]);
    for (const c of ours) {
      if (live.get(c.labels[LABELS.build]) === c.labels[LABELS.attempt]) continue;
      await this.docker.removeContainer(c.id).catch(() => undefined);
      this.logger.log(`removed container ${c.id.slice(0, 12)} left by build ${c.labels[LABELS.build]}`);
    }
  }
}
