import { Inject, Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { HookRepository } from '@dockyard/db';
import { eventView } from './event-publisher';
import { HookClient } from './hook-client';
import { signBody, slackMessage } from './hook-format';

/** Deliveries that fail for good in a row before a hook is disabled. */
export const DISABLE_AFTER = 5;

export type DeliveryOutcome = 'delivered' | 'failed' | 'skipped' | 'wait';

/**
 * Send one event to one hook: signed, in event order per hook, each attempt logged. A 2xx delivers;
 * 4xx other than 408/429 means the receiver refuses it for good (no retry); anything else throws for
 * the queue to retry with backoff. A delivery already made is never made again.
 */
@Injectable()
export class DeliverEvent {
  private readonly logger = new Logger(DeliverEvent.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly hooks: HookRepository,
    private readonly client: HookClient,
  ) {}

  async execute(deliveryId: string, attempt: { number: number; max: number }): Promise<DeliveryOutcome> {
    const d = await this.hooks.delivery(deliveryId);
    if (!d || d.status !== 'pending') return 'skipped';
    if (d.hook.disabledAt) {
      await this.hooks.skip(d.id, `the hook is disabled: ${d.hook.disabledReason ?? ''}`);
      return 'skipped';
    }
    // Order: an earlier event still on its way to this hook goes first (a redelivery does not wait).
    if (!d.redeliveryOf && (await this.hooks.earlierPending(d))) return 'wait';

    const event = eventView(d.event, this.config.http.publicUrl);
    const body = JSON.stringify(d.hook.format === 'slack' ? slackMessage(event) : event);
    const result = await this.client.post(d.hook.url, body, {
      'Content-Type': 'application/json',
      'User-Agent': 'Dockyard-Hookshot/1',
      'X-Dockyard-Event': event.type,
      'X-Dockyard-Delivery': d.id,
      'X-Dockyard-Hook-Id': d.hook.id,
      'X-Dockyard-Signature-256': signBody(body, d.hook.secret),
    });
    const refused =
      !result.ok && !!result.statusCode && result.statusCode < 500 && ![408, 429].includes(result.statusCode);
    const final = result.ok || refused || attempt.number >= attempt.max;
    const { disabled } = await this.hooks.recordAttempt(d.id, result, final, DISABLE_AFTER);
    if (disabled) this.logger.warn(`hook ${d.hook.id} (${d.hook.url}) ${disabled}`);
    if (result.ok) return 'delivered';
    const why = result.statusCode ? `HTTP ${result.statusCode}` : result.error;
    if (final) throw new UnrecoverableError(`delivery ${d.id} to ${d.hook.url} failed: ${why}`);
    throw new Error(`delivery ${d.id} to ${d.hook.url}: ${why} (attempt ${attempt.number} of ${attempt.max})`);
  }
}
