import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { BuildRepository } from '@dockyard/db';
import { WebhookIntake } from './intake.service';

/**
 * Postgres is the record of truth: every build still `queued` a while after it was recorded gets
 * its job (re)added. Deterministic job ids make this harmless when the job is already there.
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
  ) {}

  onApplicationBootstrap(): void {
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
      const stale = await this.builds.queuedBefore(new Date(Date.now() - graceMs));
      let queued = 0;
      for (const { id } of stale) {
        if (!(await this.intake.enqueue(id))) break;
        queued++;
      }
      if (queued) this.logger.log(`re-queued ${queued} build(s) recorded while the queue was away`);
      return queued;
    } catch (err) {
      this.logger.warn(`reconcile: ${(err as Error).message}`);
      return 0;
    } finally {
      this.running = false;
    }
  }
}
