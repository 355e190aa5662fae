import { Injectable } from '@nestjs/common';
import type { Build, BuildStatus } from '@dockyard/db';
import { AuditRepository, BuildRepository, FINAL_STATUSES, ProjectRepository } from '@dockyard/db';
import { Actor, actorOf } from './access';
import { GitSource, SourceUnavailableError } from '@dockyard/git';
import { ConflictError, InvalidRequestError, NotFoundError } from './errors';
import { WebhookIntake } from './intake.service';

/** What people and bots do to builds through the API: trigger, cancel, retry. */
@Injectable()
export class BuildCommands {
  constructor(
    private readonly builds: BuildRepository,
    private readonly projects: ProjectRepository,
    private readonly git: GitSource,
    private readonly intake: WebhookIntake,
    private readonly audit: AuditRepository,
  ) {}

  /** Build a branch, tag or commit of a registered project, as a push would. */
  async trigger(owner: string, name: string, target: { ref?: string; sha?: string }, by: Actor): Promise<Build> {
    const project = await this.projects.find(owner, name);
    if (!project) throw new NotFoundError(`project ${owner}/${name} is not registered`);
    if (!target.ref && !target.sha) throw new InvalidRequestError('give a ref (branch or tag) or a sha');
    let ref = target.ref ?? project.defaultBranch;
    if (!ref.startsWith('refs/')) ref = `refs/heads/${ref}`;
    let sha = target.sha;
    if (!sha) {
      try {
        sha = await this.git.resolveRef(project.cloneUrl, ref);
      } catch (err) {
        if (err instanceof SourceUnavailableError) throw new InvalidRequestError(err.message);
        throw err;
      }
    }
    if (!/^[0-9a-f]{40}$/.test(sha)) throw new InvalidRequestError(`"${sha}" is not a full 40-character commit sha`);
    const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null;
    const { build } = await this.builds.create({
      projectId: project.id,
      trigger: 'manual',
      ref,
      branch,
      sha,
      pusher: by.user.login,
      message: null,
      channel: by.channel,
    });
    await this.requested(build, by);
    await this.intake.enqueue(build.id);
    return build;
  }

  async cancel(id: string, by: string): Promise<BuildStatus> {
    const build = await this.builds.find(id);
    if (!build) throw new NotFoundError(`build ${id} does not exist`);
    if (FINAL_STATUSES.includes(build.status)) throw new ConflictError(`build ${id} is already ${build.status}`);
    if (!(await this.builds.cancel(id, `cancelled by ${by}`))) {
      const now = await this.builds.status(id);
      throw new ConflictError(`build ${id} is already ${now}`);
    }
    return 'cancelled';
  }

  /** A new build of the same commit; the old one keeps its record. */
  async retry(id: string, by: Actor): Promise<Build> {
    const old = await this.builds.find(id);
    if (!old) throw new NotFoundError(`build ${id} does not exist`);
    if (!FINAL_STATUSES.includes(old.status)) throw new ConflictError(`build ${id} is still ${old.status}`);
    const { build } = await this.builds.create({
      projectId: old.projectId,
      trigger: 'retry',
      ref: old.ref,
      branch: old.branch,
      sha: old.sha,
      pusher: by.user.login,
      message: old.message,
      retryOfId: old.id,
      channel: by.channel,
    });
    await this.requested(build, by);
    await this.intake.enqueue(build.id);
    return build;
  }

  /** A person asked for a build (not a push): who, through which channel, of what. */
  private async requested(build: Build, by: Actor): Promise<void> {
    await this.audit.record({
      ...actorOf(by),
      action: build.retryOfId ? 'build.retried' : 'build.requested',
      projectId: build.projectId,
      subject: build.id,
      detail: { ref: build.ref, sha: build.sha, retryOf: build.retryOfId },
    });
  }
}
