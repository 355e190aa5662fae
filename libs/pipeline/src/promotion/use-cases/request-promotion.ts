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
import { Requester, assertMayRequest, short } from '../requester';
import { EvaluatePromotion } from './evaluate-promotion';

export interface RequestPromotionCommand {
  /** The caller's id: sending the same request again returns the same promotion. */
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
    if (command.id) {
      const existing = await this.promotions.find(command.id);
      if (existing) return existing;
    }
    const project = await requireProject(this.projects, `${command.owner}/${command.name}`);
    const image = await this.findImage(project.id, command.digest, command.buildId);
    if (await this.builds.onlyFromPullRequests(image.id))
      throw new ConflictError(
        `${short(image.digest)} was built from a pull request; pull request builds never enter a stage (merge it, and its push builds)`,
      );
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

  private async findImage(projectId: string, digest?: string, buildId?: string): Promise<Image> {
    if (buildId) {
      const build = await this.builds.detail(buildId);
      if (!build || build.projectId !== projectId)
        throw new NotFoundError(`build ${buildId} is not a build of this project`);
      if (build.status !== 'passed' || !build.imageId)
        throw new ConflictError(`build ${buildId} is ${build.status}; only a passed build's image can be promoted`);
      return this.promotions.image(build.imageId);
    }
    if (!digest) throw new InvalidRequestError('name the image by digest or by build');
    const image = await this.promotions.findImage(projectId, digest);
    if (!image) throw new NotFoundError(`no image ${short(digest)} was built for this project`);
    return image;
  }
}
