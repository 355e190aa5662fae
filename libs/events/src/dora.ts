/**
 * DORA's four keys from Dockyard's own records, for one project's production (its last stage):
 * - deployment frequency: promotions into the last stage (rollbacks are not deployments);
 * - lead time for changes: from the commit being made to its release into the last stage;
 * - change failure rate: deployments followed, before the next one, by a rollback of the stage or a
 *   failed verification (deploy.failed / deploy.rolled_back) of their digest, over all deployments;
 * - time to restore: from a failed deployment's failure (the failed verification, or the deployment
 *   itself when only a rollback says it was bad) to the rollback or the next good deployment.
 * Pure: the history comes in, the numbers go out, and `now` is given (tests use a fixed clock).
 */
export interface ReleaseRecord {
  at: Date;
  digest: string;
  kind: 'deploy' | 'rollback';
  /** When the commit was made (null when unknown: left out of lead time). */
  committedAt: Date | null;
}

export interface FailureRecord {
  at: Date;
  digest: string | null;
}

export interface DoraWeek {
  /** Monday 00:00 UTC of the week. */
  start: string;
  deployments: number;
  failed: number;
  leadTimeSeconds: number | null;
}

export interface DoraMetrics {
  windowDays: number;
  deployments: number;
  deploymentsPerDay: number;
  leadTimeSeconds: { median: number | null; p90: number | null };
  changeFailureRate: number | null;
  failedDeployments: number;
  timeToRestoreSeconds: { median: number | null; count: number };
  weeks: DoraWeek[];
}

const DAY = 86_400_000;

export function doraMetrics(
  history: { releases: ReleaseRecord[]; failures: FailureRecord[] },
  now: Date,
  windowDays = 30,
  weeks = 12,
): DoraMetrics {
  const releases = [...history.releases].sort((a, b) => a.at.getTime() - b.at.getTime());
  const failures = [...history.failures].sort((a, b) => a.at.getTime() - b.at.getTime());
  const deploys = releases.filter((r) => r.kind === 'deploy');

  // Each deployment: failed or not, and when it was restored.
  const judged = deploys.map((d, i) => {
    const next = deploys[i + 1]?.at ?? null;
    const before = (t: Date) => t >= d.at && (!next || t < next);
    const failure = failures.find((f) => before(f.at) && (!f.digest || f.digest === d.digest));
    const rollback = releases.find((r) => r.kind === 'rollback' && before(r.at));
    if (!failure && !rollback) return { d, failed: false, restoreSeconds: null as number | null };
    const brokeAt = failure?.at ?? d.at;
    const restored = [rollback?.at, next]
      .filter((t): t is Date => !!t && t >= brokeAt)
      .sort((a, b) => a.getTime() - b.getTime())[0];
    return { d, failed: true, restoreSeconds: restored ? (restored.getTime() - brokeAt.getTime()) / 1000 : null };
  });

  const since = new Date(now.getTime() - windowDays * DAY);
  const inWindow = judged.filter((j) => j.d.at >= since && j.d.at <= now);
  const leads = leadTimes(inWindow.map((j) => j.d));
  const failed = inWindow.filter((j) => j.failed);
  const restores = failed.map((j) => j.restoreSeconds).filter((s): s is number => s !== null);

  const firstWeek = mondayOf(new Date(now.getTime() - (weeks - 1) * 7 * DAY));
  const byWeek: DoraWeek[] = Array.from({ length: weeks }, (_, i) => {
    const start = new Date(firstWeek.getTime() + i * 7 * DAY);
    const end = new Date(start.getTime() + 7 * DAY);
    const those = judged.filter((j) => j.d.at >= start && j.d.at < end && j.d.at <= now);
    return {
      start: start.toISOString(),
      deployments: those.length,
      failed: those.filter((j) => j.failed).length,
      leadTimeSeconds: quantile(leadTimes(those.map((j) => j.d)), 0.5),
    };
  });

  return {
    windowDays,
    deployments: inWindow.length,
    deploymentsPerDay: round(inWindow.length / windowDays),
    leadTimeSeconds: { median: quantile(leads, 0.5), p90: quantile(leads, 0.9) },
    changeFailureRate: inWindow.length ? round(failed.length / inWindow.length) : null,
    failedDeployments: failed.length,
    timeToRestoreSeconds: { median: quantile(restores, 0.5), count: restores.length },
    weeks: byWeek,
  };
}

function leadTimes(deploys: ReleaseRecord[]): number[] {
  return deploys
    .filter((d) => d.committedAt)
    .map((d) => Math.max(0, (d.at.getTime() - d.committedAt!.getTime()) / 1000));
}

/** Nearest-rank quantile; null for no values. */
export function quantile(values: number[], q: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function mondayOf(at: Date): Date {
  const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  return new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY);
}

const round = (n: number) => Math.round(n * 1000) / 1000;
