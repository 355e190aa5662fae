import { Injectable } from '@nestjs/common';
import {
  AuditRepository,
  BuildRepository,
  Image,
  ProjectRepository,
  PromotionFull,
  PromotionRepository,
} from '@dockyard/db';
import { ConflictError, InvalidRequestError, NotFoundError } from '../../errors';
import { requireProject } from '../../projects';
import { ProjectPolicies } from '../project-policies';
import { PromotionRecords } from '../promotion-records';
import { auditActor } from '../../projects/audit-actor';
import { Requester, assertMayRequest, isSystem, short } from '../requester';
import { EvaluatePromotion } from './evaluate-promotion';

export interface RequestPromotionCommand {
  /**
   * The caller's id: sending the same request again returns the same promotion. Another request's id
   * (anyone else's, Dockyard's own, or this caller's for something else) is a 409.
   */
  id?: string;
  owner: string;
  name: string;
  digest?: string;
  buildId?: string;
  to: string;
  force?: boolean;
  requester: Requester;
}

/**
 * Ask for a digest (or a passed build's image) to enter a stage. It must hold or have held the stage
 * before (one stage at a time, unless an admin forces it); then the stage's gates decide.
 */
@Injectable()
export class RequestPromotion {
  constructor(
    private readonly records: PromotionRecords,
    private readonly evaluate: EvaluatePromotion,
    private readonly promotions: PromotionRepository,
    private readonly projects: ProjectRepository,
    private readonly builds: BuildRepository,
    private readonly policies: ProjectPolicies,
    private readonly audit: AuditRepository,
  ) {}

  async execute(command: RequestPromotionCommand): Promise<PromotionFull> {
    const project = await requireProject(this.projects, `${command.owner}/${command.name}`);
    if (command.id) {
      const existing = await this.promotions.find(command.id);
      if (existing) return this.sameRequest(existing, project.id, command);
    }
    const image = await this.findImage(project.id, command.digest, command.buildId);
    await assertPromotable(this.builds, project.id, image);
    const { rules } = await this.policies.forImage(project, image);
    const names = rules.stages.map((s) => s.name);
    const index = names.indexOf(command.to);
    if (index < 0)
      throw new InvalidRequestError(
        `${project.owner}/${project.name} has no stage "${command.to}" (stages: ${names.join(', ')})`,
      );
    assertMayRequest(command.requester, command.force);
    const stages = await this.projects.syncStages(project.id, names);
    const target = stages[index];
    if ((await this.promotions.currentRelease(target.id))?.digest === image.digest)
      throw new ConflictError(`${command.to} already holds ${image.digest}`);
    const from = index > 0 ? stages[index - 1] : null;
    if (from && !command.force && !(await this.promotions.everHeld(from.id, image.digest))) {
      const reason = `${short(image.digest)} has not passed ${from.name}; promotions go ${names.join(' → ')} one stage at a time`;
      await this.audit.record({
        ...auditActor(command.requester),
        action: 'promotion.refused',
        projectId: project.id,
        subject: image.digest,
        detail: { to: command.to, reason },
      });
      throw new ConflictError(reason);
    }
    const opened = await this.records.open(
      {
        id: command.id,
        projectId: project.id,
        imageId: image.id,
        digest: image.digest,
        fromStage: from?.name ?? null,
        toStageId: target.id,
        kind: 'promote',
        forced: !!command.force,
      },
      { project, image, toStage: target },
      command.requester,
      command.force ? 'promotion.requested.forced' : 'promotion.requested',
      { digest: image.digest, from: from?.name ?? null, to: command.to },
    );
    return this.evaluate.execute({ promotion: opened });
  }

  /** A request sent again: only the same caller's same promotion (project, image, stage, force). */
  private async sameRequest(
    existing: PromotionFull,
    projectId: string,
    command: RequestPromotionCommand,
  ): Promise<PromotionFull> {
    const digest = command.buildId ? (await this.builds.detail(command.buildId))?.image?.digest : command.digest;
    const same =
      !isSystem(command.requester) &&
      existing.requestedById === command.requester.user.id &&
      existing.kind === 'promote' &&
      existing.projectId === projectId &&
      existing.digest === digest &&
      existing.toStage.name === command.to &&
      existing.forced === !!command.force;
    if (!same) throw new ConflictError(`promotion id ${command.id} is already taken by another request`);
    return existing;
  }

  private async findImage(projectId: string, digest?: string, buildId?: string): Promise<Image> {
    if (buildId) {
      const build = await this.builds.detail(buildId);
      if (!build || build.projectId !== projectId)
        throw new NotFoundError(`build ${buildId} is not a build of this project`);
      if (build.status !== 'passed' || !build.imageId)
        throw new ConflictError(`build ${buildId} is ${build.status}; only a passed build's image can be promoted`);
      if (build.pullRequest !== null) throw new ConflictError(fromPullRequest(build.image?.digest ?? buildId));
      return this.promotions.image(build.imageId);
    }
    if (!digest) throw new InvalidRequestError('name the image by digest or by build');
    const image = await this.promotions.findImage(projectId, digest);
    if (!image) throw new NotFoundError(`no image ${short(digest)} was built for this project`);
    return image;
  }
}

function fromPullRequest(what: string): string {
  return `${short(what)} was built from a pull request; pull request builds never enter a stage (merge it, and its push builds)`;
}

/**
 * Only what a passed build of the project, not a pull request's, produced may enter a stage (any stage,
 * by build or by digest, promoted or rolled back): an image whose tests failed, or that only a pull
 * request built, never does.
 */
export async function assertPromotable(
  builds: Pick<BuildRepository, 'passedOutsidePullRequests' | 'onlyFromPullRequests'>,
  projectId: string,
  image: Image,
): Promise<void> {
  if (await builds.passedOutsidePullRequests(projectId, image.id)) return;
  if (await builds.onlyFromPullRequests(image.id)) throw new ConflictError(fromPullRequest(image.digest));
  throw new ConflictError(
    `${short(image.digest)} has no passed build; only the image of a build whose tests passed can enter a stage`,
  );
}
