import type { DoraMetrics } from '@dockyard/events';
import { Html, html } from './html';

const W = 560;
const H = 160;
const PAD = { left: 28, right: 8, top: 12, bottom: 26 };

function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/**
 * The project's delivery metrics at a glance: the four numbers, and twelve weeks of deployments into
 * production as bars (the failed part of each week in red), drawn on the server as SVG.
 */
export function doraChart(m: DoraMetrics, stage: string | null): Html {
  const max = Math.max(1, ...m.weeks.map((w) => w.deployments));
  const slot = (W - PAD.left - PAD.right) / m.weeks.length;
  const y = (n: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - n / max);
  const bars = m.weeks.map((w, i) => {
    const x = PAD.left + i * slot + slot * 0.15;
    const bw = slot * 0.7;
    const label = `week of ${w.start.slice(0, 10)}: ${w.deployments} deployment(s), ${w.failed} failed, median lead time ${duration(w.leadTimeSeconds)}`;
    return html`<g>
      <title>${label}</title>
      <rect
        x="${x.toFixed(1)}"
        y="${y(w.deployments).toFixed(1)}"
        width="${bw.toFixed(1)}"
        height="${(y(0) - y(w.deployments)).toFixed(1)}"
        fill="#1f6feb"
      />
      <rect
        x="${x.toFixed(1)}"
        y="${y(w.failed).toFixed(1)}"
        width="${bw.toFixed(1)}"
        height="${(y(0) - y(w.failed)).toFixed(1)}"
        fill="#cf222e"
      />
      ${i % 2 === 0 ? html`<text x="${(x + bw / 2).toFixed(1)}" y="${H - 8}" text-anchor="middle" font-size="10" fill="#57606a">${w.start.slice(5, 10)}</text>` : ''}
    </g>`;
  });
  const rate = m.changeFailureRate === null ? '—' : `${Math.round(m.changeFailureRate * 100)} %`;
  return html`<section class="dora" aria-label="delivery metrics">
    <h2>Delivery${stage ? html` into <code>${stage}</code>` : ''} (last ${m.windowDays} days)</h2>
    <dl class="dora-keys">
      <div>
        <dt>Deployment frequency</dt>
        <dd data-metric="frequency">${m.deploymentsPerDay} / day (${m.deployments})</dd>
      </div>
      <div>
        <dt>Lead time (median)</dt>
        <dd data-metric="lead-time">${duration(m.leadTimeSeconds.median)}</dd>
      </div>
      <div>
        <dt>Change failure rate</dt>
        <dd data-metric="failure-rate">${rate}</dd>
      </div>
      <div>
        <dt>Time to restore (median)</dt>
        <dd data-metric="restore">${duration(m.timeToRestoreSeconds.median)}</dd>
      </div>
    </dl>
    <svg class="dora-chart" role="img" viewBox="0 0 ${W} ${H}" width="100%" height="${H}">
      <title>Deployments per week, the last ${m.weeks.length} weeks (failed ones in red)</title>
      <line x1="${PAD.left}" y1="${y(0)}" x2="${W - PAD.right}" y2="${y(0)}" stroke="#d0d7de" />
      <text x="4" y="${y(max) + 4}" font-size="10" fill="#57606a">${max}</text>
      <text x="4" y="${y(0)}" font-size="10" fill="#57606a">0</text>
      ${bars}
    </svg>
  </section>`;
}
