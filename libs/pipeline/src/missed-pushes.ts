import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { BuildRepository, ProjectRepository } from '@dockyard/db';
import { Sweeper } from '@dockyard/core';
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
  private readonly sweeper = new Sweeper(
    () => this.pass(),
    [] as string[],
    (err) => this.logger.warn(`missed pushes: ${err.message}`),
  );

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly projects: ProjectRepository,
    private readonly builds: BuildRepository,
    private readonly git: GitSource,
    private readonly intake: WebhookIntake,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.worker.missedPushInterval) return;
    this.sweeper.every(this.config.worker.missedPushInterval);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweeper.stop();
  }

  /** One pass over every project; returns the ids of the builds it queued. */
  sweep(): Promise<string[]> {
    return this.sweeper.run();
  }

  private async pass(): Promise<string[]> {
    const queued: string[] = [];
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
  }
}
