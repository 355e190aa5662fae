import { ReleaseRecord, doraMetrics, quantile } from './dora';

// A fixed clock: Wednesday 2026-11-25 12:00 UTC.
const NOW = new Date('2026-11-25T12:00:00Z');
const at = (daysAgo: number, hours = 0) => new Date(NOW.getTime() - daysAgo * 86_400_000 + hours * 3_600_000);
const HOUR = 3600;

function deploy(daysAgo: number, digest: string, leadHours: number | null): ReleaseRecord {
  const t = at(daysAgo);
  return {
    at: t,
    digest,
    kind: 'deploy',
    committedAt: leadHours === null ? null : new Date(t.getTime() - leadHours * 3_600_000),
  };
}

describe('doraMetrics (a scripted history, fixed clock)', () => {
  // Six deployments into prod in 30 days, one older one; d3 rolled back 2 h later, d5 failed its
  // verification 30 min after going live and was fixed forward by d6 a day later.
  const history = {
    releases: [
      deploy(40, 'd0', 1),
      deploy(20, 'd1', 2),
      deploy(15, 'd2', 4),
      deploy(10, 'd3', 6),
      { at: at(10, 2), digest: 'd2', kind: 'rollback' as const, committedAt: null },
      deploy(8, 'd4', null),
      deploy(5, 'd5', 10),
      deploy(4, 'd6', 24),
    ],
    failures: [{ at: at(5, 0.5), digest: 'd5' }],
  };
  const m = doraMetrics(history, NOW, 30, 12);

  it('counts deployments into the last stage in the window, not rollbacks', () => {
    expect(m.deployments).toBe(6);
    expect(m.deploymentsPerDay).toBe(0.2);
  });

  it('measures lead time from commit to release, leaving out unknown commit times', () => {
    // Lead times (h): 2, 4, 6, 10, 24 → median 6 h, p90 24 h.
    expect(m.leadTimeSeconds).toEqual({ median: 6 * HOUR, p90: 24 * HOUR });
  });

  it('fails a deployment followed by a rollback or a failed verification before the next one', () => {
    expect(m.failedDeployments).toBe(2);
    expect(m.changeFailureRate).toBe(0.333);
  });

  it('times the restore: to the rollback, or from the failed verification to the next deployment', () => {
    // d3: 2 h to its rollback; d5: failed at +30 min, d6 one day after d5 → 23.5 h. Median of [2 h, 23.5 h]: 2 h.
    expect(m.timeToRestoreSeconds).toEqual({ median: 2 * HOUR, count: 2 });
  });

  it('buckets twelve weeks from Monday to Monday, ending with this week', () => {
    expect(m.weeks).toHaveLength(12);
    expect(m.weeks[11].start).toBe('2026-11-23T00:00:00.000Z');
    const total = m.weeks.reduce((n, w) => n + w.deployments, 0);
    expect(total).toBe(7);
    const week = (iso: string) => m.weeks.find((w) => w.start === iso)!;
    // d2 (Tue 11-10) and d3 (Sun 11-15) share the week of Monday 11-09; d4, d5, d6 the next.
    expect(week('2026-11-09T00:00:00.000Z')).toMatchObject({ deployments: 2, failed: 1, leadTimeSeconds: 4 * HOUR });
    expect(week('2026-11-16T00:00:00.000Z')).toMatchObject({ deployments: 3, failed: 1, leadTimeSeconds: 10 * HOUR });
  });

  it('says null rather than zero when there is nothing to measure', () => {
    const empty = doraMetrics({ releases: [], failures: [] }, NOW);
    expect(empty).toMatchObject({
      deployments: 0,
      changeFailureRate: null,
      leadTimeSeconds: { median: null, p90: null },
      timeToRestoreSeconds: { median: null, count: 0 },
    });
  });

  it('a failure of another digest does not fail a deployment', () => {
    const m2 = doraMetrics({ releases: [deploy(3, 'a', 1)], failures: [{ at: at(2), digest: 'b' }] }, NOW);
    expect(m2.failedDeployments).toBe(0);
  });
});

describe('quantile', () => {
  it('uses the nearest rank', () => {
    expect(quantile([5, 1, 3], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4], 0.9)).toBe(4);
    expect(quantile([], 0.5)).toBeNull();
  });
});
