import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches, MinLength } from 'class-validator';
import { ProjectRepository } from '@dockyard/db';
import { redactUrl } from '@dockyard/git';
import {
  Actor,
  BuildCommands,
  ChangeProjectSettings,
  RegisterProject,
  actorOf,
  pipelineJsonSchema,
} from '@dockyard/pipeline';
import { requesterOf } from '../promotions/requester';
import { CurrentActor, RequireScope } from '../auth/auth.guard';
import { TriggerBuildBody } from '../builds/builds.dto';

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export class RegisterProjectBody {
  @ApiProperty({ example: 'acme' })
  @Matches(NAME, { message: 'owner must be a GitHub owner name' })
  owner!: string;

  @ApiProperty({ example: 'web' })
  @Matches(NAME, { message: 'name must be a GitHub repository name' })
  name!: string;

  @ApiProperty({
    example: 'https://github.com/acme/web.git',
    description: 'https://, ssh:// or git@host:path (file:// only with GIT_ALLOW_FILE_URLS)',
  })
  @IsString()
  cloneUrl!: string;

  @ApiPropertyOptional({ example: 'main' })
  @IsOptional()
  @IsString()
  defaultBranch?: string;

  @ApiPropertyOptional({ description: "this repository's webhook secret; the global one applies without it" })
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'webhookSecret must be at least 16 characters' })
  webhookSecret?: string;
}

export class ProjectSettingsBody {
  @ApiPropertyOptional({ description: 'build steps have a network (default true)' })
  @IsOptional()
  @IsBoolean()
  buildNetwork?: boolean;

  @ApiPropertyOptional({ description: 'tests may set `user:` or `readOnly: false` in .dockyard.yml (default true)' })
  @IsOptional()
  @IsBoolean()
  testOptOuts?: boolean;
}

@ApiTags('projects')
@ApiBearerAuth()
@Controller('api/v1')
export class ProjectsController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly commands: BuildCommands,
    private readonly changeSettings: ChangeProjectSettings,
    private readonly registerProject: RegisterProject,
  ) {}

  @Post('projects')
  @RequireScope('admin')
  @ApiOperation({ summary: 'Register a git repository' })
  async register(@Body() body: RegisterProjectBody, @CurrentActor() actor: Actor) {
    const project = await this.registerProject.execute(body, actorOf(actor));
    return {
      id: project.id,
      project: `${project.owner}/${project.name}`,
      cloneUrl: redactUrl(project.cloneUrl),
      defaultBranch: project.defaultBranch,
    };
  }

  @Get('projects')
  @RequireScope('read')
  async list() {
    return (await this.projects.list()).map((p) => ({
      id: p.id,
      project: `${p.owner}/${p.name}`,
      cloneUrl: redactUrl(p.cloneUrl),
      defaultBranch: p.defaultBranch,
    }));
  }

  @Patch('projects/:owner/:name')
  @RequireScope('admin')
  @ApiOperation({ summary: "Admins: how a project's builds and tests are confined (audited)" })
  async settings(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Body() body: ProjectSettingsBody,
    @CurrentActor() actor: Actor,
  ) {
    const p = await this.changeSettings.execute(`${owner}/${name}`, body, requesterOf(actor));
    return { project: `${p.owner}/${p.name}`, buildNetwork: p.buildNetwork, testOptOuts: p.testOptOuts };
  }

  @Post('projects/:owner/:name/builds')
  @HttpCode(202)
  @RequireScope('build')
  @ApiOperation({ summary: 'Build a ref or a commit by hand' })
  async trigger(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Body() body: TriggerBuildBody,
    @CurrentActor() actor: Actor,
  ) {
    const build = await this.commands.trigger(owner, name, body, actor);
    return { buildId: build.id, status: build.status, sha: build.sha };
  }

  @Get('schema/dockyard.json')
  @ApiOperation({ summary: 'The JSON Schema of .dockyard.yml' })
  schema() {
    return pipelineJsonSchema();
  }
}
