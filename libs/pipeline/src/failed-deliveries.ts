import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { DeliveryRepository } from '@dockyard/db';
import { Sweeper } from '@dockyard/core';
import { DeliveryAttempt, GitHubAppDeliveries } from '@dockyard/github';

/** GitHub keeps deliveries for 3 days; a day back is plenty for a reconciler that runs every few minutes. */
const LOOK_BACK_MS = 24 * 3_600_000;
/** Redeliveries asked per delivery before giving up on it (a payload Dockyard keeps refusing). */
const MAX_REDELIVERIES = 3;

/** The deliveries to ask again: none of their attempts succeeded and Dockyard never recorded them. Pure. */
export function deliveriesToRedeliver(attempts: DeliveryAttempt[], recorded: Set<string>): DeliveryAttempt[] {
  const byGuid = new Map<string, DeliveryAttempt[]>();
  for (const a of attempts) byGuid.set(a.guid, [...(byGuid.get(a.guid) ?? []), a]);
  const out: DeliveryAttempt[] = [];
  for (const [guid, tries] of byGuid) {
    if (recorded.has(guid) || tries.some((t) => t.statusCode >= 200 && t.statusCode < 300)) continue;
    if (tries.filter((t) => t.redelivery).length >= MAX_REDELIVERIES) continue;
    out.push(tries.reduce((a, b) => (b.deliveredAt > a.deliveredAt ? b : a)));
  }
  return out;
}

/**
 * No missed pushes, for projects on a GitHub App: GitHub never retries a failed delivery, so at an
 * interval the app's recent deliveries are listed and those that failed are asked for again.
 */
@Injectable()
export class FailedDeliveries implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(FailedDeliveries.name);
  private readonly asked = new Map<string, number>();
  private readonly sweeper = new Sweeper(
    () => this.pass(),
    [] as string[],
    (err) => this.logger.warn(`failed deliveries: ${err.message}`),
  );

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly github: GitHubAppDeliveries,
    private readonly deliveries: DeliveryRepository,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.github.enabled || !this.config.worker.redeliveryInterval) return;
    this.sweeper.every(this.config.worker.redeliveryInterval);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweeper.stop();
  }

  /** One pass; returns the guids asked for again. */
  async sweep(): Promise<string[]> {
    return this.github.enabled ? this.sweeper.run() : [];
  }

  private async pass(): Promise<string[]> {
    try {
      const attempts = await this.github.since(new Date(Date.now() - LOOK_BACK_MS));
      const recorded = await this.deliveries.known([...new Set(attempts.map((a) => a.guid))]);
      const now = Date.now();
      const wanted = deliveriesToRedeliver(attempts, recorded).filter(
        // One ask per interval: the redelivery itself takes a moment to show in the list.
        (a) => now - (this.asked.get(a.guid) ?? 0) >= this.config.worker.redeliveryInterval,
      );
      for (const attempt of wanted) {
        await this.github.redeliver(attempt.id);
        this.asked.set(attempt.guid, now);
        this.logger.log(
          `asked GitHub to redeliver ${attempt.event} delivery ${attempt.guid} (was ${attempt.statusCode})`,
        );
      }
      for (const [guid, at] of this.asked) if (now - at > LOOK_BACK_MS) this.asked.delete(guid);
      return wanted.map((a) => a.guid);
    } catch (err) {
      this.logger.warn(`failed deliveries: ${(err as Error).message}`);
      return [];
    }
  }
}
