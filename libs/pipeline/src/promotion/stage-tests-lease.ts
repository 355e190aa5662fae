import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { PromotionRepository } from '@dockyard/db';
import { DockerEngine, LABELS } from '@dockyard/docker';

/** What holding a promotion's stage tests gives the work: its attempt token and a stop signal. */
export interface StageTestsAttempt {
  token: string;
  number: number;
  /** Fires when this attempt lost its lease (another worker took the tests over). */
  signal: AbortSignal;
}

export type HeldOutcome<T> = { held: true; value: T } | { held: false; why: string };

/**
 * The lease on a promotion's stage tests, as a build's: one worker attempt holds them at a time and
 * renews its lease by a heartbeat. A re-delivered job of a promotion whose worker died takes the
 * tests over once that lease ran out, after removing the dead attempt's containers (by label); while a live attempt holds them, another job leaves them to it.
 */
@Injectable()
export class StageTestsLease {
  private readonly logger = new Logger(StageTestsLease.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly promotions: PromotionRepository,
    private readonly docker: DockerEngine,
  ) {}

  async hold<T>(promotionId: string, work: (attempt: StageTestsAttempt) => Promise<T>): Promise<HeldOutcome<T>> {
    const lease = this.config.worker.lease;
    const token = randomUUID();
    const claimed = await this.promotions.claimTests(promotionId, token, lease);
    if (!claimed) return { held: false, why: 'another worker is running its tests' };
    if (claimed.tookOverFrom) await this.takeOver(promotionId, claimed.attempt, token);
    const abort = new AbortController();
    let busy = false;
    const beat = setInterval(
      () => {
        if (busy) return;
        busy = true;
        this.promotions
          .renewTestsLease(promotionId, token, lease)
          .then((held) => held || abort.abort())
          .catch((err: Error) => this.logger.warn(`heartbeat of promotion ${promotionId}: ${err.message}`))
          .finally(() => (busy = false));
      },
      Math.max(50, lease / 3),
    );
    try {
      const value = await work({ token, number: claimed.attempt, signal: abort.signal });
      return abort.signal.aborted ? { held: false, why: 'its lease was lost' } : { held: true, value };
    } catch (err) {
      if (abort.signal.aborted) return { held: false, why: 'its lease was lost' };
      throw err;
    } finally {
      clearInterval(beat);
      await this.promotions.releaseTests(promotionId, { token }).catch(() => undefined);
    }
  }

  private async takeOver(promotionId: string, attempt: number, token: string): Promise<void> {
    // Its test runs are replaced when the tests run again.
    this.logger.warn(
      `promotion ${promotionId}: attempt ${attempt} takes its tests over (the worker running them was lost)`,
    );
    try {
      for (const c of await this.docker.containers({ [LABELS.promotion]: promotionId })) {
        if (c.labels[LABELS.attempt] === token) continue;
        await this.docker.removeContainer(c.id);
        this.logger.log(`promotion ${promotionId}: removed container ${c.id.slice(0, 12)} of an earlier attempt`);
      }
    } catch (err) {
      // On another engine, or this one is away: the watchdog's sweep there removes them.
      this.logger.warn(`promotion ${promotionId}: could not remove earlier containers: ${(err as Error).message}`);
    }
  }
}
