import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { BuildRepository, ProjectRepository } from '@dockyard/db';
import { GitSource } from '@dockyard/git';
import { WebhookIntake } from './intake.service';

/**
 * No missed pushes: GitHub does not retry a failed delivery, so at an interval every project's
 * branch heads (`git ls-remote`) are compared with the commit each branch last built, and a head
 * nobody announced is built. Branches considered: those that built before, and the default branch.
 */
@Injectable()
export class MissedPushes implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MissedPushes.name);
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly projects: ProjectRepository,
    private readonly builds: BuildRepository,
    private readonly git: GitSource,
    private readonly intake: WebhookIntake,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.worker.missedPushInterval) return;
    this.timer = setInterval(() => void this.sweep(), this.config.worker.missedPushInterval);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass over every project; returns the ids of the builds it queued. */
  async sweep(): Promise<string[]> {
    if (this.running) return [];
    this.running = true;
    const queued: string[] = [];
    try {
      for (const project of await this.projects.list()) {
        try {
          const heads = await this.git.branchHeads(project.cloneUrl);
          const built = await this.builds.lastBuiltHeads(project.id);
          for (const [branch, sha] of heads) {
            if (built.get(branch) === sha || (!built.has(branch) && branch !== project.defaultBranch)) continue;
            const build = await this.builds.createMissed(project.id, branch, sha);
            if (!build) continue;
            this.logger.log(
              `${project.owner}/${project.name}: ${branch} is at ${sha.slice(0, 12)}, never built: building`,
            );
            await this.intake.enqueue(build.id);
            queued.push(build.id);
          }
        } catch (err) {
          this.logger.warn(`missed pushes of ${project.owner}/${project.name}: ${(err as Error).message}`);
        }
      }
      return queued;
    } finally {
      this.running = false;
    }
  }
}
