import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Octokit } from '@octokit/rest';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { githubClient } from './octokit';

/** One attempt GitHub made at delivering a webhook (a redelivery keeps the guid). */
export interface DeliveryAttempt {
  id: number;
  guid: string;
  deliveredAt: Date;
  redelivery: boolean;
  statusCode: number;
  event: string;
}

/** A GitHub App's webhook deliveries: the recent attempts, and asking for one again. */
@Injectable()
export class GitHubAppDeliveries {
  private readonly logger = new Logger(GitHubAppDeliveries.name);
  private readonly octokit?: Octokit;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    if (config.github.app) this.octokit = githubClient(config, this.logger);
  }

  /** Only a GitHub App can list and redeliver its deliveries. */
  get enabled(): boolean {
    return !!this.octokit;
  }

  /** Attempts since `since`, newest first (GET /app/hook/deliveries, cursor-paged). */
  async since(since: Date, maxPages = 10): Promise<DeliveryAttempt[]> {
    if (!this.octokit) return [];
    const out: DeliveryAttempt[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const res = await this.octokit.rest.apps.listWebhookDeliveries({ per_page: 100, cursor });
      for (const d of res.data) {
        const deliveredAt = new Date(d.delivered_at);
        if (deliveredAt < since) return out;
        out.push({
          id: d.id,
          guid: d.guid,
          deliveredAt,
          redelivery: d.redelivery,
          statusCode: d.status_code,
          event: d.event,
        });
      }
      cursor = /[?&]cursor=([^&>]+)[^>]*>;\s*rel="next"/.exec(res.headers.link ?? '')?.[1];
      if (!cursor || !res.data.length) return out;
    }
    return out;
  }

  /** POST /app/hook/deliveries/{id}/attempts: GitHub sends that delivery again, with its guid. */
  async redeliver(id: number): Promise<void> {
    if (!this.octokit) return;
    await this.octokit.rest.apps.redeliverWebhookDelivery({ delivery_id: id });
  }
}
