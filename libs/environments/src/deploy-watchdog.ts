import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { DeployRepository } from '@dockyard/db';
import { Sweeper } from '@dockyard/core';
import { JobQueue } from '@dockyard/queue';
import { DEPLOY_WATCHER, DeployWatcher } from './deploy-watcher';

const RESUMED = 'resumed: the worker running it was lost';

/**
 * No deploy is left `running` by a worker that died. A deploy holds its environment's lock (a
 * Postgres advisory lock) for as long as it runs, so a deploy still active whose environment nobody
 * holds has lost its worker. A promotion's deploy is resumed once by the next worker (its
 * `promotion.run` job is queued again: the deploy picks up where the hosts are); lost a second time,
 * or a deploy no promotion waits on (a re-converge), it ends `failed` with the reason.
 */
@Injectable()
export class DeployWatchdog implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeployWatchdog.name);
  private readonly sweeper = new Sweeper(
    (graceMs: number = 30_000) => this.pass(graceMs),
    0,
    (err) => this.logger.warn(`deploy watchdog: ${err.message}`),
  );

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly deploys: DeployRepository,
    private readonly queue: JobQueue,
    @Optional() @Inject(DEPLOY_WATCHER) private readonly watcher?: DeployWatcher,
  ) {}

  onApplicationBootstrap(): void {
    this.sweeper.every(this.config.worker.reconcileInterval);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweeper.stop();
  }

  /** One pass over deploys recorded more than `graceMs` ago; returns how many it resumed or ended. */
  sweep(graceMs = 30_000): Promise<number> {
    return this.sweeper.run(graceMs);
  }

  private async pass(graceMs: number): Promise<number> {
    let handled = 0;
    try {
      await this.deploys.forEachOrphan(new Date(Date.now() - graceMs), async (deploy) => {
        handled++;
        if (deploy.promotionId && !deploy.reason?.startsWith(RESUMED)) {
          await this.deploys.update(deploy.id, { status: 'queued', reason: RESUMED });
          this.logger.warn(`deploy ${deploy.id}: ${RESUMED}; resuming it`);
        } else {
          const reason = deploy.promotionId
            ? 'the worker running it was lost twice'
            : 'the worker running it was lost (re-converge again to retry)';
          await this.deploys.finish(deploy.id, 'failed', { reason });
          await this.watcher?.changed(deploy.id, 'failed').catch(() => undefined);
          this.logger.warn(`deploy ${deploy.id} failed: ${reason}`);
        }
        // The promotion looks at its deploy again: resumed, or ended with it.
        if (deploy.promotionId)
          await this.queue.add('promotion.run', { promotionId: deploy.promotionId, at: Date.now() });
      });
    } catch (err) {
      this.logger.warn(`deploy watchdog: ${(err as Error).message}`);
    }
    return handled;
  }
}
