import type { BuildDetail } from '@dockyard/db';

/** A build as the API shows it: short enough to paste into a chat message. */
export function buildView(build: BuildDetail, publicUrl: string) {
  const ms = (a?: Date | null, b?: Date | null) => (a && b ? b.getTime() - a.getTime() : null);
  return {
    id: build.id,
    project: `${build.project.owner}/${build.project.name}`,
    status: build.status,
    reason: build.reason,
    trigger: build.trigger,
    ref: build.ref,
    branch: build.branch,
    sha: build.sha,
    pusher: build.pusher,
    message: build.message,
    image: build.image
      ? { repository: build.image.repository, digest: build.image.digest, sizeBytes: Number(build.image.sizeBytes) }
      : null,
    supersededBy: build.supersededBy,
    retryOf: build.retryOfId,
    pullRequest: build.pullRequest,
    fromFork: build.fromFork,
    createdAt: build.createdAt,
    startedAt: build.startedAt,
    finishedAt: build.finishedAt,
    durationMs: ms(build.startedAt, build.finishedAt),
    testRuns: build.testRuns.map((t) => ({
      name: t.name,
      command: t.command,
      status: t.status,
      exitCode: t.exitCode,
      reason: t.reason,
      durationMs: t.durationMs,
    })),
    url: `${publicUrl}/builds/${build.id}`,
  };
}
