import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics, on a registry of their own so that tests can boot several apps. */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  readonly webhookDeliveries = new Counter({
    name: 'dockyard_webhook_deliveries_total',
    help: 'Webhook deliveries received, by event and outcome',
    labelNames: ['event', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly webhookRejected = new Counter({
    name: 'dockyard_webhook_rejected_total',
    help: 'Webhook deliveries refused before anything was recorded, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly buildsFinished = new Counter({
    name: 'dockyard_builds_finished_total',
    help: 'Builds that reached a final status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly buildDuration = new Histogram({
    name: 'dockyard_build_duration_seconds',
    help: 'Time from a build starting to its final status',
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
