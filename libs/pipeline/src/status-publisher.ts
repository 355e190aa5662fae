import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { BuildDetail, BuildRepository } from '@dockyard/db';
import { GitHubStatuses, StatusState } from '@dockyard/github';
import { JobQueue } from '@dockyard/queue';

export type StatusContext = 'build' | 'test';

/** The commit status a build shows on GitHub for a context, from its state in Postgres. Pure. */
export function statusOf(build: BuildDetail, context: StatusContext): { state: StatusState; description: string } {
  const digest = build.image?.digest.slice(0, 19);
  const ended = ['superseded', 'cancelled'].includes(build.status);
  if (context === 'build') {
    if (build.image) return { state: 'success', description: `Image built: ${digest}` };
    if (ended) return { state: 'error', description: build.reason ?? `Build ${build.status}` };
    if (build.status === 'failed') return { state: 'failure', description: build.reason ?? 'The build failed' };
    if (build.status === 'error') return { state: 'error', description: build.reason ?? 'The build could not run' };
    return {
      state: 'pending',
      description: build.status === 'running' ? 'Building the image' : 'Waiting for a worker',
    };
  }
  const runs = build.testRuns;
  if (build.status === 'passed') {
    return { state: 'success', description: runs.length ? `${runs.length} test(s) passed` : 'No tests configured' };
  }
  if (ended) return { state: 'error', description: build.reason ?? `Build ${build.status}` };
  if (build.status === 'failed' && build.image)
    return { state: 'failure', description: build.reason ?? 'Tests failed' };
  if (build.status === 'failed' || build.status === 'error') {
    return { state: 'error', description: 'Tests not run: the build did not produce an image' };
  }
  return { state: 'pending', description: build.image ? 'Running tests' : 'Waiting for the image' };
}

/** Publishes commit statuses through the queue, so that a GitHub outage is retried and never fails a build. */
@Injectable()
export class StatusPublisher {
  private readonly logger = new Logger(StatusPublisher.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly builds: BuildRepository,
    private readonly github: GitHubStatuses,
    private readonly queue: JobQueue,
  ) {}

  /** Ask for a status to be published; never throws (a status is not worth failing anything for). */
  async announce(buildId: string, context: StatusContext, state: string): Promise<void> {
    if (!this.github.enabled) return;
    await this.queue.add('status.publish', { buildId, context, state }).catch((err: Error) => {
      this.logger.warn(`status ${context}=${state} of build ${buildId} not queued: ${err.message}`);
    });
  }

  /** The job's work: publish the build's *current* state, so that a late retry never goes backwards. */
  async publish(buildId: string, context: StatusContext): Promise<void> {
    const build = await this.builds.detail(buildId);
    if (!build) return;
    const { state, description } = statusOf(build, context);
    await this.github.publish({
      owner: build.project.owner,
      repo: build.project.name,
      sha: build.sha,
      context: `dockyard/${context}`,
      state,
      description,
      targetUrl: `${this.config.http.publicUrl}/builds/${build.id}`,
    });
  }
}
