import { Injectable } from '@nestjs/common';
import { BuildRepository } from '@dockyard/db';
import { EventPublisher } from './event-publisher';

/** build.started / build.passed / build.failed, read from the build's record: one line at each emit point. */
@Injectable()
export class BuildEvents {
  constructor(
    private readonly builds: BuildRepository,
    private readonly events: EventPublisher,
  ) {}

  async started(buildId: string): Promise<void> {
    const b = await this.builds.detail(buildId);
    if (!b) return;
    await this.events.publish({
      type: 'build.started',
      project: b.project,
      commit: b.sha,
      actor: b.pusher ?? 'system',
      subject: b.id,
      data: { buildId: b.id, ref: b.ref, branch: b.branch },
    });
  }

  async finished(buildId: string, status: 'passed' | 'failed' | 'error', reason: string | null): Promise<void> {
    const b = await this.builds.detail(buildId);
    if (!b) return;
    const common = {
      project: b.project,
      digest: b.image?.digest ?? null,
      commit: b.sha,
      actor: b.pusher ?? 'system',
      subject: b.id,
    };
    const base = { buildId: b.id, ref: b.ref, branch: b.branch };
    const durationMs = b.startedAt ? Date.now() - b.startedAt.getTime() : null;
    if (status === 'passed') {
      await this.events.publish({ ...common, type: 'build.passed', data: { ...base, durationMs } });
    } else {
      await this.events.publish({
        ...common,
        type: 'build.failed',
        data: { ...base, status, reason: reason ?? status },
      });
    }
  }
}
