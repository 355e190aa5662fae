import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { DoraRepository } from '@dockyard/db';
import { Metrics } from '@dockyard/observability';
import { DoraMetrics, doraMetrics } from './dora';

const WINDOW_DAYS = 30;
const WEEKS = 12;
/** A scrape every few seconds need not recompute every project: answers are kept this long. */
const CACHE_MS = 15_000;

/** DORA metrics per project, for the API, the project page's chart and Prometheus. */
@Injectable()
export class DeliveryMetrics {
  private cached: { at: number; all: Promise<{ project: string; metrics: DoraMetrics }[]> } | null = null;

  constructor(
    private readonly dora: DoraRepository,
    metrics: Metrics,
  ) {
    const all = () => this.all();
    const gauge = (name: string, help: string, pick: (m: DoraMetrics) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['project'] as const,
        registers: [metrics.registry],
        collect: async function (this: Gauge<'project'>) {
          this.reset();
          for (const { project, metrics: m } of await all()) {
            const value = pick(m);
            if (value !== null) this.set({ project }, value);
          }
        },
      });
    gauge(
      'dockyard_dora_deployments',
      `Deployments into the last stage in the last ${WINDOW_DAYS} days`,
      (m) => m.deployments,
    );
    gauge(
      'dockyard_dora_deployments_per_day',
      `Deployment frequency over the last ${WINDOW_DAYS} days`,
      (m) => m.deploymentsPerDay,
    );
    gauge(
      'dockyard_dora_lead_time_seconds',
      'Median lead time from commit to the last stage',
      (m) => m.leadTimeSeconds.median,
    );
    gauge(
      'dockyard_dora_change_failure_rate',
      'Share of deployments followed by a rollback or failed verification',
      (m) => m.changeFailureRate,
    );
    gauge(
      'dockyard_dora_time_to_restore_seconds',
      'Median time from a failed deployment to its restore',
      (m) => m.timeToRestoreSeconds.median,
    );
  }

  /** The metrics of a project's last stage (`stage`: its name, null before it has stages). */
  async forProject(projectId: string, now = new Date()): Promise<DoraMetrics & { stage: string | null }> {
    const since = new Date(now.getTime() - Math.max(WINDOW_DAYS, WEEKS * 7 + 7) * 86_400_000);
    const history = await this.dora.history(projectId, since);
    return { stage: history.stage, ...doraMetrics(history, now, WINDOW_DAYS, WEEKS) };
  }

  private all(): Promise<{ project: string; metrics: DoraMetrics }[]> {
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.all;
    const all = (async () => {
      const projects = await this.dora.projectIds();
      return Promise.all(
        projects.map(async (p) => ({ project: `${p.owner}/${p.name}`, metrics: await this.forProject(p.id) })),
      );
    })();
    all.catch(() => (this.cached = null));
    this.cached = { at: Date.now(), all };
    return all;
  }
}
