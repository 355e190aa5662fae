import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';
import type { Response } from 'express';
import { AuditRepository, ProjectRepository, PromotionFull, PromotionRepository } from '@dockyard/db';
import { Actor, PromotionService, requireProject } from '@dockyard/pipeline';
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

export class StagePolicyBody {
  @ApiPropertyOptional()
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
    private readonly service: PromotionService,
    private readonly projects: ProjectRepository,
    private readonly promotions: PromotionRepository,
    private readonly audit: AuditRepository,
  ) {}

  @Get('projects/:owner/:name/stages')
  @RequireScope('read')
  @ApiOperation({
    summary: "A project's stages: what digest each holds, from which build and commit, since when, by whom",
  })
  async stages(@Param('owner') owner: string, @Param('name') name: string) {
    const project = await requireProject(this.projects, `${owner}/${name}`);
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
    const p = await this.service.request({
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
    return promotionView(await this.service.get(id));
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
    const p = await this.service.approve(id, requesterOf(actor), body.comment);
    return answer(res, p);
  }

  @Post('promotions/:id/reject')
  @RequireScope('approve')
  async reject(@Param('id', ParseUUIDPipe) id: string, @Body() body: DecisionBody, @CurrentActor() actor: Actor) {
    return promotionView(await this.service.reject(id, requesterOf(actor), body.comment));
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
    const p = await this.service.rollback({
      owner,
      name,
      stage,
      digest: body.digest,
      force: body.force,
      requester: requesterOf(actor),
    });
    return answer(res, p);
  }

  @Put('projects/:owner/:name/stages/:stage/policy')
  @RequireScope('admin')
  @ApiOperation({
    summary: "Admins: override a stage's policy for this project (an empty body goes back to the file's)",
  })
  async policy(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Body() body: StagePolicyBody,
    @CurrentActor() actor: Actor,
  ) {
    const override = Object.keys(body).length ? { ...body } : null;
    await this.service.overridePolicy(owner, name, stage, override, requesterOf(actor));
    return { stage, policy: override };
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
