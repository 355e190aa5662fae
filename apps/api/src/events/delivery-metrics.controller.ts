import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ProjectRepository } from '@dockyard/db';
import { DeliveryMetrics } from '@dockyard/events';
import { requireProject } from '@dockyard/pipeline';
import { RequireScope } from '../auth/auth.guard';

@ApiTags('metrics')
@ApiBearerAuth()
@Controller('api/v1/projects/:owner/:name/metrics')
export class DeliveryMetricsController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly metrics: DeliveryMetrics,
  ) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: 'DORA metrics of the project, from its releases into the last stage (30 days, and 12 weeks week by week)',
    description:
      'deploymentsPerDay: promotions into the last stage; leadTimeSeconds: commit to release there; changeFailureRate: ' +
      'deployments followed by a rollback or a failed verification; timeToRestoreSeconds: failure to rollback or next deployment.',
  })
  async get(@Param('owner') owner: string, @Param('name') name: string) {
    const project = await requireProject(this.projects, `${owner}/${name}`);
    return { project: `${owner}/${name}`, ...(await this.metrics.forProject(project.id)) };
  }
}
