import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import {
  AuditRepository,
  BuildRepository,
  Channel,
  Image,
  Prisma,
  ProjectRepository,
  PromotionStatus,
  PromotionFull,
  PromotionRepository,
  Release,
  User,
} from '@dockyard/db';
import { PromotionEvents } from '@dockyard/events';
import { GitSource } from '@dockyard/git';
import { JobQueue } from '@dockyard/queue';
import { RegistryClient } from '@dockyard/registry';
import { Clock } from '../clock';
import { ConflictError, ForbiddenError, InvalidRequestError, NotFoundError } from '../errors';
import { DEFAULT_STAGES, PipelineConfig } from '../pipeline-file';
import { requireProject } from '../projects';
import { TestSuite } from '../test-suite';
import { StagePolicy, approvalRefusal, frozenUntil, identityOf, stagePolicy } from './policy';
import { WaitingNotice } from './waiting-notice';

/** Who asks: the person policy is checked against, and how they reached Dockyard. */
export interface Requester {
  user: User;
  channel: Channel;
  /** How the audit names them: "alice", or "chatops-bot for alice". */
  actor: string;
  tokenId?: string;
}

const SYSTEM: Requester = {
  user: { id: '', login: 'system', role: 'admin' } as User,
  channel: 'system',
  actor: 'system',
};
const FINAL = ['promoted', 'rejected', 'blocked', 'failed'];

/**
 * Promotion moves a digest between stages; nothing is ever rebuilt. Each promotion is evaluated
 * against its target stage's policy (source stage, freeze windows, tests before entry, approvals
 * with separation of duties), and written into the registry by digest under the stage's lock.
 */
@Injectable()
export class PromotionService {
  private readonly logger = new Logger(PromotionService.name);
  private readonly pipelines = new Map<string, Pick<PipelineConfig, 'stages'>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly promotions: PromotionRepository,
    private readonly projects: ProjectRepository,
    private readonly builds: BuildRepository,
    private readonly audit: AuditRepository,
    private readonly registry: RegistryClient,
    private readonly git: GitSource,
    private readonly queue: JobQueue,
    private readonly tests: TestSuite,
    private readonly clock: Clock,
    private readonly promotionEvents: PromotionEvents,
    private readonly notice: WaitingNotice,
  ) {}

  /** Ask for a digest (or a build's image) to enter a stage. Idempotent by a caller-given id. */
  async request(input: {
    id?: string;
    owner: string;
    name: string;
    digest?: string;
    buildId?: string;
    to: string;
    force?: boolean;
    requester: Requester;
  }): Promise<PromotionFull> {
    if (input.id) {
      const existing = await this.promotions.find(input.id);
      if (existing) return existing;
    }
    const project = await this.project(input.owner, input.name);
    const image = await this.findImage(project.id, input.digest, input.buildId);
    const pipeline = await this.pipelineOf(image);
    const names = pipeline.stages.map((s) => s.name);
    const index = names.indexOf(input.to);
    if (index < 0)
      throw new InvalidRequestError(
        `${project.owner}/${project.name} has no stage "${input.to}" (stages: ${names.join(', ')})`,
      );
    const stages = await this.projects.syncStages(project.id, names);
    const target = stages[index];
    this.assertMayRequest(input.requester, input.force);

    const current = await this.current(target.id);
    if (current?.digest === image.digest) throw new ConflictError(`${input.to} already holds ${image.digest}`);
    const from = index > 0 ? stages[index - 1] : null;
    if (from && !input.force && !(await this.promotions.everHeld(from.id, image.digest))) {
      const reason = `${short(image.digest)} has not passed ${from.name}; promotions go ${names.join(' → ')} one stage at a time`;
      await this.audit.record({
        ...this.who(input.requester),
        action: 'promotion.refused',
        projectId: project.id,
        subject: image.digest,
        detail: { to: input.to, reason },
      });
      throw new ConflictError(reason);
    }
    return this.open(
      {
        id: input.id,
        projectId: project.id,
        imageId: image.id,
        digest: image.digest,
        fromStage: from?.name ?? null,
        toStageId: target.id,
        kind: 'promote',
        forced: !!input.force,
      },
      { project, image, toStage: target },
      input.requester,
      input.force ? 'promotion.requested.forced' : 'promotion.requested',
      { digest: image.digest, from: from?.name ?? null, to: input.to },
    );
  }

  /** Put back the previous digest of a stage (or a named one that held it before). */
  async rollback(input: {
    owner: string;
    name: string;
    stage: string;
    digest?: string;
    force?: boolean;
    requester: Requester;
  }): Promise<PromotionFull> {
    const project = await this.project(input.owner, input.name);
    this.assertMayRequest(input.requester, input.force);
    const stage = (await this.promotions.stages(project.id)).find((s) => s.name === input.stage);
    if (!stage) throw new NotFoundError(`${project.owner}/${project.name} has no stage "${input.stage}"`);
    const [current, ...earlier] = stage.releases;
    if (!current) throw new ConflictError(`${input.stage} holds nothing to roll back`);
    const target = input.digest
      ? earlier.find((r) => r.digest === input.digest)
      : earlier.find((r) => r.digest !== current.digest);
    if (!target) {
      throw new ConflictError(
        input.digest
          ? `${short(input.digest)} never held ${input.stage} before`
          : `${input.stage} has no earlier digest to go back to`,
      );
    }
    return this.open(
      {
        projectId: project.id,
        imageId: target.imageId,
        digest: target.digest,
        fromStage: input.stage,
        toStageId: stage.id,
        kind: 'rollback',
        forced: !!input.force,
      },
      { project, image: target.image, toStage: stage },
      input.requester,
      input.force ? 'rollback.requested.forced' : 'rollback.requested',
      { stage: input.stage, from: current.digest, to: target.digest },
    );
  }

  /** Record a new promotion (waiting), audit the request, and evaluate it at once. */
  private async open(
    data: Omit<Prisma.PromotionUncheckedCreateInput, 'status' | 'channel' | 'requestedById'>,
    loaded: Pick<PromotionFull, 'project' | 'image' | 'toStage'>,
    requester: Requester,
    action: string,
    detail: Prisma.InputJsonValue,
  ): Promise<PromotionFull> {
    const row = await this.promotions.create({
      ...data,
      status: 'waiting',
      channel: requester.channel,
      requestedById: requester.user.id || null,
    });
    // What the promotion relates to is in hand already: no need to read it back.
    const { id, projectId, name, position, policy } = loaded.toStage;
    const promotion: PromotionFull = {
      ...row,
      ...loaded,
      toStage: { id, projectId, name, position, policy },
      approvals: [],
      testRuns: [],
      requestedBy: requester.user.id ? requester.user : null,
    };
    await this.audit.record({
      ...this.who(requester),
      action,
      projectId: data.projectId,
      subject: promotion.id,
      detail,
    });
    return this.evaluate(promotion);
  }

  async approve(id: string, requester: Requester, comment?: string): Promise<PromotionFull> {
    return this.decide(id, requester, true, comment);
  }

  async reject(id: string, requester: Requester, comment?: string): Promise<PromotionFull> {
    return this.decide(id, requester, false, comment);
  }

  async get(id: string): Promise<PromotionFull> {
    const promotion = await this.promotions.find(id);
    if (!promotion) throw new NotFoundError(`promotion ${id} does not exist`);
    return promotion;
  }

  /**
   * Move a promotion as far as its policy allows now: wait (freeze, approvals), test, or write the
   * stage. Safe to call any number of times; `inWorker` runs stage tests here instead of queueing them.
   */
  async evaluate(id: string | PromotionFull, inWorker = false): Promise<PromotionFull> {
    let p = typeof id === 'string' ? await this.get(id) : id;
    if (FINAL.includes(p.status)) return p;
    const policy = await this.policyFor(p);
    const waitReason = async (reason: string, on: 'approval' | 'freeze') => {
      if (p.reason !== reason) {
        await this.promotions.update(p.id, { status: 'waiting', reason });
        const waiting = { for: on, waitingFor: reason, approvalsNeeded: policy.approvals };
        await this.notice.publish(p, waiting, (user) => this.refusalFor(p, user));
      }
      return this.get(p.id);
    };

    const until = frozenUntil(policy.freeze, this.clock.now());
    if (until && !p.forced) {
      const reason = `${policy.name} is frozen until ${until.toISOString()}`;
      if (p.reason !== reason) {
        await this.audit.record({
          actor: 'system',
          channel: 'system',
          action: 'promotion.waiting',
          projectId: p.projectId,
          subject: p.id,
          detail: { reason },
        });
        await this.schedule(p.id, until.getTime() - this.clock.now().getTime() + 50);
      }
      return waitReason(reason, 'freeze');
    }

    if (
      p.kind === 'promote' &&
      policy.test?.length &&
      !p.testRuns.some((t) => t.status === 'passed' || t.status === 'failed')
    ) {
      if (!inWorker) {
        if (p.status !== 'testing') {
          await this.promotions.update(p.id, {
            status: 'testing',
            reason: `running ${policy.test.length} test(s) before ${policy.name}`,
          });
          await this.schedule(p.id, 0);
        }
        return this.get(p.id);
      }
      const failure = await this.runStageTests(p, policy);
      if (failure) return this.finish(p, 'blocked', failure, 'promotion.blocked');
      await this.audit.record({
        actor: 'system',
        channel: 'system',
        action: 'promotion.tested',
        projectId: p.projectId,
        subject: p.id,
        detail: { stage: policy.name },
      });
      p = await this.get(p.id);
    }

    if (!p.forced) {
      const approvedBy = p.approvals.filter((a) => a.approved);
      const missing = policy.approvals - approvedBy.length;
      if (missing > 0) {
        return waitReason(
          `needs ${missing} more approval(s) for ${policy.name}${policy.approvers?.length ? ` from ${policy.approvers.join(', ')}` : ''}`,
          'approval',
        );
      }
    }
    return this.write(p, policy);
  }

  /** Put the digest into the first stage after a build passed (the build's own `auto` stage). */
  async enterFirstStage(
    buildId: string,
    image: Image,
    stageId: string,
    stageName: string,
    by: string | null,
    channel: Channel = 'webhook',
  ): Promise<void> {
    await this.promotions.withStageLock(stageId, async (tx) => {
      await tx.release.create({ data: { stageId, imageId: image.id, digest: image.digest, buildId, byLogin: by } });
      await this.audit.record(
        {
          actor: by ?? 'system',
          channel,
          action: 'stage.entered',
          projectId: image.projectId,
          subject: image.digest,
          detail: { stage: stageName, buildId },
        },
        tx,
      );
      // The registry last: if it fails, the rows above roll back and nothing disagrees.
      await this.registry.copy(image.repository, image.digest, image.repository, stageName);
    });
  }

  private async write(p: PromotionFull, policy: StagePolicy): Promise<PromotionFull> {
    const source = p.image.repository;
    const target = policy.repository ?? source;
    let written: boolean;
    const completedAt = new Date();
    try {
      written = await this.promotions.withStageLock(p.toStageId, async (tx) => {
        // Under the lock, claim it: the same promotion may have been written meanwhile. (Nobody outside
        // this transaction could see a "promoting" status, so none is written.)
        const claimed = await tx.promotion.updateMany({
          where: { id: p.id, status: { notIn: FINAL as PromotionStatus[] } },
          data: { status: 'promoted', reason: null, completedAt },
        });
        if (!claimed.count) return false;
        await tx.release.create({
          data: {
            stageId: p.toStageId,
            imageId: p.imageId,
            digest: p.digest,
            promotionId: p.id,
            byLogin: p.requestedBy?.login ?? 'system',
          },
        });
        await this.audit.record(
          {
            actor: 'system',
            channel: 'system',
            action: p.kind === 'rollback' ? 'stage.rolled_back' : 'stage.promoted',
            projectId: p.projectId,
            subject: p.id,
            detail: { stage: p.toStage.name, digest: p.digest, repository: target, forced: p.forced },
          },
          tx,
        );
        // The registry last: if it fails, the rows above roll back and the stage keeps its digest.
        await this.registry.copy(source, p.digest, target, p.toStage.name);
        return true;
      });
    } catch (err) {
      // The transaction rolled back: no Release row, the stage keeps its digest.
      const reason = `registry write failed: ${(err as Error).message}`;
      this.logger.warn(`promotion ${p.id}: ${reason}`);
      return this.finish(p, 'failed', reason, 'promotion.failed');
    }
    if (!written) return this.get(p.id);
    const done: PromotionFull = { ...p, status: 'promoted', reason: null, completedAt };
    await this.promotionEvents.written(done);
    if (done.kind === 'promote') await this.autoNext(done, policy);
    return done;
  }

  private async autoNext(p: PromotionFull, policy: StagePolicy): Promise<void> {
    await this.promoteNextIfAuto(p.project, p.digest, policy.name, await this.pipelineOf(p.image));
  }

  /** A stage marked `auto: true` takes what the stage before it accepted, at once. */
  async promoteNextIfAuto(
    project: { owner: string; name: string },
    digest: string,
    from: string,
    pipeline: Pick<PipelineConfig, 'stages'>,
  ): Promise<void> {
    const index = pipeline.stages.findIndex((s) => s.name === from);
    const next = pipeline.stages[index + 1];
    if (!next?.auto) return;
    await this.request({ owner: project.owner, name: project.name, digest, to: next.name, requester: SYSTEM }).catch(
      (err: Error) => this.logger.warn(`auto promotion to ${next.name}: ${err.message}`),
    );
  }

  /** An admin's per-project override of a stage's policy (null clears it); audited. */
  async overridePolicy(
    owner: string,
    name: string,
    stage: string,
    policy: Partial<StagePolicy> | null,
    requester: Requester,
  ): Promise<void> {
    if (requester.user.role !== 'admin') throw new ForbiddenError('only an admin may change a stage policy');
    const project = await this.project(owner, name);
    const row = (await this.promotions.stages(project.id)).find((s) => s.name === stage);
    if (!row) throw new NotFoundError(`${owner}/${name} has no stage "${stage}"`);
    await this.promotions.prisma.stage.update({ where: { id: row.id }, data: { policy: policy ?? Prisma.DbNull } });
    await this.audit.record({
      ...this.who(requester),
      action: 'stage.policy_changed',
      projectId: project.id,
      subject: stage,
      detail: policy ?? {},
    });
  }

  /** Why this person may not approve or reject the promotion, or null (the dashboard says it on the button). */
  async refusalFor(p: PromotionFull, user: User): Promise<string | null> {
    return approvalRefusal({
      approver: user,
      requesterId: p.requestedById,
      contributors: await this.contributorsOf(p),
      policy: await this.policyFor(p),
    });
  }

  private async decide(id: string, requester: Requester, approved: boolean, comment?: string): Promise<PromotionFull> {
    const p = await this.get(id);
    if (FINAL.includes(p.status)) throw new ConflictError(`promotion ${id} is already ${p.status}`);
    const refusal = await this.refusalFor(p, requester.user);
    if (refusal) {
      await this.audit.record({
        ...this.who(requester),
        action: approved ? 'approval.refused' : 'rejection.refused',
        projectId: p.projectId,
        subject: p.id,
        detail: { reason: refusal },
      });
      throw new ForbiddenError(refusal);
    }
    await this.promotions.approve({
      promotionId: p.id,
      userId: requester.user.id,
      approved,
      comment,
      channel: requester.channel,
    });
    await this.audit.record({
      ...this.who(requester),
      action: approved ? 'promotion.approved' : 'promotion.rejected',
      projectId: p.projectId,
      subject: p.id,
      detail: { comment: comment ?? null },
    });
    if (!approved) {
      const done = await this.finish(
        p,
        'rejected',
        `rejected by ${requester.user.login}${comment ? `: ${comment}` : ''}`,
      );
      await this.promotionEvents.rejected(p, requester.actor, done.reason ?? 'rejected');
      return done;
    }
    return this.evaluate(p.id);
  }

  private async finish(
    p: PromotionFull,
    status: 'blocked' | 'failed' | 'rejected',
    reason: string,
    action?: string,
  ): Promise<PromotionFull> {
    await this.promotions.update(p.id, { status, reason, completedAt: new Date() });
    if (status !== 'rejected') await this.promotionEvents.failed(p, status, reason);
    if (action)
      await this.audit.record({
        actor: 'system',
        channel: 'system',
        action,
        projectId: p.projectId,
        subject: p.id,
        detail: { reason },
      });
    return this.get(p.id);
  }

  private async runStageTests(p: PromotionFull, policy: StagePolicy): Promise<string | null> {
    const ref = `${this.registry.engineRef(p.image.repository)}@${p.digest}`;
    return this.tests.run({
      image: ref,
      tests: policy.test ?? [],
      recorder: {
        create: (tests) => this.promotions.createTestRuns(p.id, tests),
        update: (runId, data) => this.builds.updateTestRun(runId, data),
      },
      labels: { 'dev.dockyard.promotion': p.id },
    });
  }

  /** Pushers and authors of the commits between what the stage holds and what is promoted. */
  private async contributorsOf(p: PromotionFull): Promise<string[]> {
    const build = await this.promotions.buildOfImage(p.imageId);
    if (!build) return [];
    const current = await this.current(p.toStageId);
    const currentBuild = current ? await this.promotions.buildOfImage(current.imageId) : null;
    const people = [build.pusher].filter((x): x is string => !!x);
    try {
      const mirror = await this.git.mirrorWith(p.project, build.sha);
      people.push(...(await this.git.contributors(mirror, currentBuild?.sha ?? null, build.sha)));
    } catch (err) {
      this.logger.warn(`contributors of ${p.id}: ${(err as Error).message}`);
    }
    return [...new Set(people.map(identityOf))];
  }

  private async policyFor(p: PromotionFull): Promise<StagePolicy> {
    const pipeline = await this.pipelineOf(p.image);
    return stagePolicy(pipeline, p.toStage.name, p.toStage.policy as Partial<StagePolicy> | null);
  }

  /** The pipeline an image was built with; an image never changes, so it is read once. */
  private async pipelineOf(image: Image): Promise<Pick<PipelineConfig, 'stages'>> {
    const cached = this.pipelines.get(image.id);
    if (cached) return cached;
    const build = await this.promotions.buildOfImage(image.id);
    const pipeline = { stages: (build?.config as PipelineConfig | null)?.stages ?? DEFAULT_STAGES };
    if (this.pipelines.size >= 1000) this.pipelines.delete(this.pipelines.keys().next().value!);
    if (build) this.pipelines.set(image.id, pipeline);
    return pipeline;
  }

  private async findImage(projectId: string, digest?: string, buildId?: string): Promise<Image> {
    if (buildId) {
      const build = await this.builds.detail(buildId);
      if (!build || build.projectId !== projectId)
        throw new NotFoundError(`build ${buildId} is not a build of this project`);
      if (build.status !== 'passed' || !build.imageId)
        throw new ConflictError(`build ${buildId} is ${build.status}; only a passed build's image can be promoted`);
      return this.promotions.prisma.image.findUniqueOrThrow({ where: { id: build.imageId } });
    }
    if (!digest) throw new InvalidRequestError('name the image by digest or by build');
    const image = await this.promotions.prisma.image.findFirst({ where: { projectId, digest } });
    if (!image) throw new NotFoundError(`no image ${short(digest)} was built for this project`);
    return image;
  }

  private project(owner: string, name: string) {
    return requireProject(this.projects, `${owner}/${name}`);
  }

  private current(stageId: string): Promise<Release | null> {
    return this.promotions.prisma.release.findFirst({ where: { stageId }, orderBy: { createdAt: 'desc' } });
  }

  private assertMayRequest(requester: Requester, force?: boolean): void {
    if (requester === SYSTEM) return;
    if (!['developer', 'approver', 'admin'].includes(requester.user.role)) {
      throw new ForbiddenError(
        `${requester.user.login} is a ${requester.user.role}; promotions need the developer role or above`,
      );
    }
    if (force && requester.user.role !== 'admin')
      throw new ForbiddenError('only an admin may force a promotion past its policy');
  }

  private async schedule(promotionId: string, delayMs: number): Promise<void> {
    await this.queue.add(
      'promotion.run',
      { promotionId, at: Date.now() + Math.max(0, delayMs) },
      { delay: Math.max(0, delayMs) },
    );
  }

  private who(r: Requester) {
    return { actor: r.actor, userId: r.user.id || null, tokenId: r.tokenId ?? null, channel: r.channel };
  }
}

function short(digest: string): string {
  return digest.slice(0, 19);
}
