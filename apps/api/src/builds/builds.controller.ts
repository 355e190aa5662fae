import { Controller, Get, Inject, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { BuildRepository, FINAL_STATUSES, ProjectRepository } from '@dockyard/db';
import { Actor, BuildCommands, NotFoundError, requireProject } from '@dockyard/pipeline';
import { CurrentActor, RequireScope } from '../auth/auth.guard';
import { buildView } from './build.view';
import { ListBuildsQuery, LogsQuery } from './builds.dto';
import { sendLog } from '../logs/log-stream';

@ApiTags('builds')
@ApiBearerAuth()
@Controller('api/v1/builds')
export class BuildsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly builds: BuildRepository,
    private readonly projects: ProjectRepository,
    private readonly commands: BuildCommands,
  ) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'List builds, newest first' })
  async list(@Query() query: ListBuildsQuery) {
    const projectId = query.project ? (await requireProject(this.projects, query.project)).id : undefined;
    const { items, total } = await this.builds.list({
      projectId,
      status: query.status,
      take: query.perPage,
      skip: (query.page - 1) * query.perPage,
    });
    return {
      total,
      page: query.page,
      perPage: query.perPage,
      items: items.map((b) => ({
        id: b.id,
        project: `${b.project.owner}/${b.project.name}`,
        status: b.status,
        branch: b.branch,
        sha: b.sha,
        digest: b.image?.digest ?? null,
        createdAt: b.createdAt,
        finishedAt: b.finishedAt,
      })),
    };
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'A build: commit, status, timings, digest, test runs' })
  async get(@Param('id', ParseUUIDPipe) id: string) {
    const build = await this.builds.detail(id);
    if (!build) throw new NotFoundError(`build ${id} does not exist`);
    return buildView(build, this.config.http.publicUrl);
  }

  @Get(':id/logs')
  @RequireScope('read')
  @ApiOperation({ summary: 'The build and test output; ?follow=1 streams it live as Server-Sent Events' })
  async logs(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: LogsQuery,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    if (!(await this.builds.find(id))) throw new NotFoundError(`build ${id} does not exist`);
    await sendLog(
      {
        after: (seq, take) => this.builds.logsAfter(id, seq, take),
        ended: async () => {
          const status = await this.builds.status(id);
          return status && FINAL_STATUSES.includes(status) ? status : null;
        },
      },
      query,
      req,
      res,
    );
  }

  @Post(':id/cancel')
  @RequireScope('build')
  @ApiOperation({ summary: 'Cancel a queued or running build (its containers are stopped)' })
  async cancel(@Param('id', ParseUUIDPipe) id: string, @CurrentActor() actor: Actor) {
    return { id, status: await this.commands.cancel(id, actor.user.login) };
  }

  @Post(':id/retry')
  @RequireScope('build')
  @ApiOperation({ summary: 'Build the same commit again, as a new build' })
  async retry(@Param('id', ParseUUIDPipe) id: string, @CurrentActor() actor: Actor) {
    const build = await this.commands.retry(id, actor);
    return { id: build.id, status: build.status, retryOf: id };
  }
}
