import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventListener, EventRepository, HookRepository } from '@dockyard/db';
import { Sweeper } from '@dockyard/core';
import { JobQueue } from '@dockyard/queue';

const CURSOR = 'hooks';
const BATCH = 200;
/** How often to look without a wake-up (a notification missed while the listener reconnected). */
const SWEEP_MS = 5_000;
/** A delivery still pending this long may have lost its job (Redis was away): add it again (same id). */
const STALE_MS = 60_000;

/**
 * Reads the event table in order and hands each event to the hooks that want it: a delivery row per
 * hook (in Postgres, with the cursor, in one transaction), then a queue job per delivery. Publishers
 * only write events; nothing they do waits for a hook.
 */
@Injectable()
export class HookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(HookDispatcher.name);
  private readonly dispatching = new Sweeper(
    () => this.dispatch(),
    undefined,
    (err) => this.logger.warn(`hook dispatch: ${err.message}`),
  );
  private readonly requeueing = new Sweeper(
    () => this.requeueStale(),
    undefined,
    (err) => this.logger.warn(`requeue: ${err.message}`),
  );
  private unsubscribe?: () => void;
  private stopped = false;

  constructor(
    private readonly events: EventRepository,
    private readonly hooks: HookRepository,
    private readonly listener: EventListener,
    private readonly queue: JobQueue,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.listener.subscribe(() => this.wake());
    this.dispatching.every(SWEEP_MS, { now: true });
    this.requeueing.every(SWEEP_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await Promise.all([this.dispatching.stop(), this.requeueing.stop()]);
  }

  /** Dispatch now (or once more after the run in progress). */
  wake(): void {
    this.dispatching.wake();
  }

  private async dispatch(): Promise<void> {
    for (;;) {
      const { deliveries, more } = await this.events.fanOut(
        CURSOR,
        BATCH,
        (hook, event) => hook.events.includes('*') || hook.events.includes(event.type),
      );
      for (const deliveryId of deliveries) await this.enqueue(deliveryId);
      if (!more || this.stopped) return;
    }
  }

  async enqueue(deliveryId: string): Promise<void> {
    // Redis away: the delivery stays pending in Postgres and the sweep adds its job later.
    await this.queue.add('hook.deliver', { deliveryId }).catch((err: Error) => this.logger.warn(err.message));
  }

  private async requeueStale(): Promise<void> {
    for (const d of await this.hooks.pendingSince(new Date(Date.now() - STALE_MS), 100)) await this.enqueue(d.id);
  }
}
