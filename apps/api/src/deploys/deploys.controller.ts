import { Controller, Get, Param, ParseUUIDPipe, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { DeployRepository, FINAL_DEPLOY_STATUSES } from '@dockyard/db';
import { EnvironmentsOverview } from '@dockyard/operations';
import { NotFoundError } from '@dockyard/pipeline';
import { RequireScope } from '../auth/auth.guard';
import { LogsQuery } from '../builds/builds.dto';
import { sendLog } from '../logs/log-stream';

/** Deploys to environments: steps, outcome, and the live log (the same log machinery as builds). */
@ApiTags('environments')
@ApiBearerAuth()
@Controller('api/v1/deploys')
export class DeploysController {
  constructor(
    private readonly deploys: DeployRepository,
    private readonly overview: EnvironmentsOverview,
  ) {}

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'A deploy: digest, status, why it failed, whether it rolled back, its steps' })
  async get(@Param('id', ParseUUIDPipe) id: string) {
    const deploy = await this.deploys.find(id);
    if (!deploy) throw new NotFoundError(`deploy ${id} does not exist`);
    return this.overview.deployView(deploy, false);
  }

  @Get(':id/logs')
  @RequireScope('read')
  @ApiOperation({ summary: "The deploy's log; ?follow=1 streams it live as Server-Sent Events" })
  async logs(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: LogsQuery,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    if (!(await this.deploys.find(id))) throw new NotFoundError(`deploy ${id} does not exist`);
    await sendLog(
      {
        after: (seq, take) => this.deploys.logsAfter(id, seq, take),
        ended: async () => {
          const status = (await this.deploys.find(id))?.status;
          return status && FINAL_DEPLOY_STATUSES.includes(status) ? status : null;
        },
      },
      query,
      req,
      res,
    );
  }
}
