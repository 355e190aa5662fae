import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import type { Response } from 'express';
import { AuditRepository, PolicyRepository, ProjectRepository, PromotionFull, PromotionRepository } from '@dockyard/db';
import {
  Actor,
  ChangePolicy,
  DecidePromotion,
  PolicyInForce,
  ProjectPolicies,
  PromotionRecords,
  RequestPromotion,
  RollBackStage,
  requireProject,
} from '@dockyard/pipeline';
import { CurrentActor, RequireScope } from '../auth/auth.guard';
import { promotionView } from './promotion.view';
import { requesterOf } from './requester';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** 201 when the stage was written, 202 while the promotion waits (its view says for what). */
function answer(res: Response, p: PromotionFull) {
  res.status(p.status === 'promoted' ? 201 : 202);
  return promotionView(p);
}

export class CreatePromotionBody {
  @ApiPropertyOptional({ description: 'your id for this request: sending it again returns the same promotion' })
  @IsOptional()
  @IsUUID()
  id?: string;

  @ApiProperty({ example: 'acme/web' })
  @Matches(/^[\w.-]+\/[\w.-]+$/, { message: 'project must be owner/name' })
  project!: string;

  @ApiPropertyOptional({ example: `sha256:${'0'.repeat(64)}` })
  @IsOptional()
  @Matches(DIGEST, { message: 'digest must be sha256:<64 hex>' })
  digest?: string;

  @ApiPropertyOptional({ description: 'a passed build whose image to promote' })
  @IsOptional()
  @IsUUID()
  build?: string;

  @ApiProperty({ example: 'prod' })
  @IsString()
  to!: string;

  @ApiPropertyOptional({ description: 'admins only: past the stage order and the policy (audited)' })
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}

export class DecisionBody {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  comment?: string;
}

export class RollbackBody {
  @ApiPropertyOptional({ description: 'an earlier digest of this stage; default: the one before the current' })
  @IsOptional()
  @Matches(DIGEST, { message: 'digest must be sha256:<64 hex>' })
  digest?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}

/** One stage's rules changed in the project's current policy (a new version); the rest stays. */
export class StagePolicyBody {
  @ApiPropertyOptional({ description: 'take what the stage before accepted without a request' })
  @IsOptional()
  @IsBoolean()
  auto?: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10)
  approvals?: number;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsString({ each: true })
  approvers?: string[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  separationOfDuties?: boolean;

  @ApiPropertyOptional({ description: 'freeze windows: {cron, duration} or {from, to}', type: [Object] })
  @IsOptional()
  @IsArray()
  freeze?: unknown[];

  @ApiPropertyOptional({
    description: 'suites run from the digest before it may enter: {name, run, timeout?, network?}',
    type: [Object],
  })
  @IsOptional()
  @IsArray()
  test?: unknown[];

  @ApiPropertyOptional({ description: '{required, roles?, users?}, or null for none', type: Object, nullable: true })
  @IsOptional()
  @IsObject()
  signoff?: Record<string, unknown> | null;

  @ApiPropertyOptional({ description: "the stage's tag in another registry repository (any: an admin's choice)" })
  @IsOptional()
  @IsString()
  repository?: string;

  @ApiPropertyOptional({ description: 'why, kept with the version' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  comment?: string;
}

/** A project's whole policy: its stages in order, with their gates. */
export class ProjectPolicyBody {
  @ApiProperty({
    description: 'the stages in promotion order, each with its gates',
    example: [{ name: 'dev', auto: true }, { name: 'test' }, { name: 'prod', approvals: 1, separationOfDuties: true }],
    type: [Object],
  })
  @IsArray()
  stages!: unknown[];

  @ApiPropertyOptional({
    description: "repositories outside the project's namespace its pipeline file may name",
    type: [String],
  })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  repositories?: string[];

  @ApiPropertyOptional({ description: 'why, kept with the version' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  comment?: string;
}

function policyView(p: PolicyInForce) {
  return { version: p.version, createdBy: p.createdBy, createdAt: p.createdAt, policy: p.rules };
}

export class AuditQuery {
  @ApiPropertyOptional({ example: 'acme/web' })
  @IsOptional()
  @Matches(/^[\w.-]+\/[\w.-]+$/, { message: 'project must be owner/name' })
  project?: string;

  @ApiPropertyOptional({ default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit = 50;
}

@ApiTags('promotions')
@ApiBearerAuth()
@Controller('api/v1')
export class PromotionsController {
  constructor(
    private readonly requestPromotion: RequestPromotion,
    private readonly decidePromotion: DecidePromotion,
    private readonly rollBackStage: RollBackStage,
    private readonly changePolicy: ChangePolicy,
    private readonly records: PromotionRecords,
    private readonly policies: ProjectPolicies,
    private readonly projects: ProjectRepository,
    private readonly promotions: PromotionRepository,
    private readonly versions: PolicyRepository,
    private readonly audit: AuditRepository,
  ) {}

  @Get('projects/:owner/:name/stages')
  @RequireScope('read')
  @ApiOperation({
    summary: "A project's stages: what digest each holds, from which build and commit, since when, by whom",
  })
  async stages(@Param('owner') owner: string, @Param('name') name: string) {
    const project = await requireProject(this.projects, `${owner}/${name}`);
    await this.policies.ensureStages(project.id);
    const [stages, open] = await Promise.all([this.promotions.stages(project.id), this.promotions.open(project.id)]);
    return Promise.all(
      stages.map(async (s) => {
        const now = s.releases[0];
        const build = now ? await this.promotions.buildOfImage(now.imageId) : null;
        return {
          stage: s.name,
          digest: now?.digest ?? null,
          build: build?.id ?? null,
          commit: now?.image.sha ?? null,
          since: now?.createdAt ?? null,
          by: now?.byLogin ?? null,
          waiting: open
            .filter((p) => p.toStageId === s.id)
            .map((p) => ({ id: p.id, digest: p.digest, status: p.status, waitingFor: p.reason })),
        };
      }),
    );
  }

  @Post('promotions')
  @RequireScope('promote')
  @ApiOperation({ summary: 'Promote a digest (or a build) into a stage: 201 done, 202 waiting (with what for)' })
  async create(
    @Body() body: CreatePromotionBody,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) res: Response,
  ) {
    const [owner, name] = body.project.split('/');
    const p = await this.requestPromotion.execute({
      id: body.id,
      owner,
      name,
      digest: body.digest,
      buildId: body.build,
      to: body.to,
      force: body.force,
      requester: requesterOf(actor),
    });
    return answer(res, p);
  }

  @Get('promotions/:id')
  @RequireScope('read')
  async get(@Param('id', ParseUUIDPipe) id: string) {
    return promotionView(await this.records.get(id));
  }

  @Post('promotions/:id/approve')
  @RequireScope('approve')
  @ApiOperation({ summary: 'Approve a waiting promotion (separation of duties applies)' })
  async approve(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: DecisionBody,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) res: Response,
  ) {
    const p = await this.decidePromotion.execute({
      promotionId: id,
      approved: true,
      comment: body.comment,
      requester: requesterOf(actor),
    });
    return answer(res, p);
  }

  @Post('promotions/:id/reject')
  @RequireScope('approve')
  async reject(@Param('id', ParseUUIDPipe) id: string, @Body() body: DecisionBody, @CurrentActor() actor: Actor) {
    const p = await this.decidePromotion.execute({
      promotionId: id,
      approved: false,
      comment: body.comment,
      requester: requesterOf(actor),
    });
    return promotionView(p);
  }

  @Post('projects/:owner/:name/stages/:stage/rollback')
  @RequireScope('promote')
  @ApiOperation({ summary: 'Put back the previous digest of a stage, or a named earlier one' })
  async rollback(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Body() body: RollbackBody,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) res: Response,
  ) {
    const p = await this.rollBackStage.execute({
      owner,
      name,
      stage,
      digest: body.digest,
      force: body.force,
      requester: requesterOf(actor),
    });
    return answer(res, p);
  }

  @Get('projects/:owner/:name/policy')
  @RequireScope('read')
  @ApiOperation({ summary: "The project's policy in force (its gates, held by Dockyard) and its version" })
  async policy(@Param('owner') owner: string, @Param('name') name: string) {
    const project = await requireProject(this.projects, `${owner}/${name}`);
    return { namespace: this.policies.namespaceOf(project), ...policyView(await this.policies.current(project.id)) };
  }

  @Get('projects/:owner/:name/policy/versions')
  @RequireScope('read')
  @ApiOperation({ summary: "Every version of the project's policy, newest first (version 1 is the default)" })
  async policyVersions(@Param('owner') owner: string, @Param('name') name: string) {
    const project = await requireProject(this.projects, `${owner}/${name}`);
    return (await this.versions.history(project.id)).map((v) => ({
      version: v.version,
      createdBy: v.createdBy,
      createdAt: v.createdAt,
      comment: v.comment,
      policy: v.policy,
    }));
  }

  @Put('projects/:owner/:name/policy')
  @RequireScope('admin')
  @ApiOperation({ summary: "Admins: replace the project's policy (a new version, audited)" })
  async putPolicy(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Body() body: ProjectPolicyBody,
    @CurrentActor() actor: Actor,
  ) {
    const { comment, ...policy } = body;
    return policyView(
      await this.changePolicy.execute({ owner, name, change: { policy }, comment, requester: requesterOf(actor) }),
    );
  }

  @Put('projects/:owner/:name/stages/:stage/policy')
  @RequireScope('admin')
  @ApiOperation({ summary: "Admins: change one stage's gates in the project's policy (a new version, audited)" })
  async stagePolicy(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Body() body: StagePolicyBody,
    @CurrentActor() actor: Actor,
  ) {
    const { comment, ...fields } = body;
    return policyView(
      await this.changePolicy.execute({
        owner,
        name,
        change: { stage, fields },
        comment,
        requester: requesterOf(actor),
      }),
    );
  }

  @Get('audit')
  @RequireScope('read')
  @ApiOperation({ summary: 'The audit trail, newest first' })
  async auditTrail(@Query() query: AuditQuery) {
    const projectId = query.project ? (await requireProject(this.projects, query.project)).id : undefined;
    const events = await this.audit.list({ projectId, take: query.limit });
    return events.map((e) => ({
      at: e.at,
      actor: e.actor,
      via: e.channel,
      action: e.action,
      subject: e.subject,
      detail: e.detail,
    }));
  }
}
