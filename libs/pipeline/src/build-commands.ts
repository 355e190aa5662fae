import { Injectable } from '@nestjs/common';
import type { Build, BuildStatus } from '@dockyard/db';
import { AuditRepository, BuildRepository, FINAL_STATUSES, ProjectRepository } from '@dockyard/db';
import { Actor, actorOf } from './access';
import { GitProject, GitSource, PULL_REQUEST_HEAD, SourceUnavailableError, isBuildableRef } from '@dockyard/git';
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

  /**
   * Build a branch, tag, pull request head (refs/pull/N/head) or commit of a registered project, as
   * a push would. A commit given with a ref must be on it (the ref defaults to the default branch):
   * a build's trust comes from its ref, so a commit only a fork's pull request holds cannot pass for
   * a branch's. A pull request's head builds as that pull request: no secrets unless its delivery
   * said it is not from a fork, and never promoted.
   */
  async trigger(owner: string, name: string, target: { ref?: string; sha?: string }, by: Actor): Promise<Build> {
    const project = await this.projects.find(owner, name);
    if (!project) throw new NotFoundError(`project ${owner}/${name} is not registered`);
    if (!target.ref && !target.sha) throw new InvalidRequestError('give a ref (branch or tag) or a sha');
    let ref = target.ref ?? project.defaultBranch;
    if (!ref.startsWith('refs/')) ref = `refs/heads/${ref}`;
    if (!isBuildableRef(ref))
      throw new InvalidRequestError(`"${ref}" is not a branch, a tag or a pull request head (refs/pull/N/head)`);
    if (target.sha !== undefined && !/^[0-9a-f]{40}$/.test(target.sha))
      throw new InvalidRequestError(`"${target.sha}" is not a full 40-character commit sha`);
    const sha = await this.commitOn(project, ref, target.sha);
    const pull = PULL_REQUEST_HEAD.exec(ref);
    const pullRequest = pull ? Number(pull[1]) : null;
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
      pullRequest,
      // Fail closed: a pull request no delivery vouched for counts as a fork's.
      fromFork: pullRequest !== null && ((await this.builds.pullRequestFromFork(project.id, pullRequest)) ?? true),
    });
    await this.requested(build, by);
    await this.intake.enqueue(build.id);
    return build;
  }

  /** The ref's tip, or `sha` once it is known to be on the ref. */
  private async commitOn(project: GitProject, ref: string, sha?: string): Promise<string> {
    try {
      if (!sha) return await this.git.resolveRef(project.cloneUrl, ref);
      if (!(await this.git.isOnRef(project, sha, ref)))
        throw new InvalidRequestError(`commit ${sha} is not on ${ref} (or ${ref} does not exist)`);
      return sha;
    } catch (err) {
      if (err instanceof SourceUnavailableError) throw new InvalidRequestError(err.message);
      throw err;
    }
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
      // Trust is the source's: a pull request's build, retried, is still that pull request's.
      pullRequest: old.pullRequest,
      fromFork: old.fromFork,
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
