import type { PromotionFull } from '@dockyard/db';

/** A promotion as the API shows it: short enough to paste into a chat message. */
export function promotionView(p: PromotionFull) {
  return {
    id: p.id,
    project: `${p.project.owner}/${p.project.name}`,
    kind: p.kind,
    digest: p.digest,
    from: p.fromStage,
    to: p.toStage.name,
    status: p.status,
    waitingFor: ['waiting', 'testing', 'promoting'].includes(p.status) ? p.reason : null,
    reason: ['waiting', 'testing', 'promoting'].includes(p.status) ? null : p.reason,
    forced: p.forced,
    requestedBy: p.requestedBy?.login ?? 'system',
    approvals: p.approvals.map((a) => ({ by: a.user.login, approved: a.approved, comment: a.comment, via: a.channel })),
    testRuns: p.testRuns.map((t) => ({
      name: t.name,
      status: t.status,
      exitCode: t.exitCode,
      durationMs: t.durationMs,
    })),
    createdAt: p.createdAt,
    completedAt: p.completedAt,
  };
}
