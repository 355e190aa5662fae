import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags, PartialType } from '@nestjs/swagger';
import { ArrayMaxSize, IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { ProjectRepository } from '@dockyard/db';
import { EVENT_TYPES, HookAdmin, deliveryView, hookView } from '@dockyard/events';
import { Actor, requireProject } from '@dockyard/pipeline';
import { CurrentActor, RequireScope } from '../auth/auth.guard';

export class HookBody {
  @ApiProperty({ example: 'https://hooks.slack.com/services/T000/B000/XXXX' })
  @IsString()
  @MaxLength(2000)
  url!: string;

  @ApiPropertyOptional({
    type: [String],
    example: ['promotion.waiting', 'stage.rolled_back'],
    description: `"*" or any of ${EVENT_TYPES.join(', ')}`,
  })
  @IsOptional()
  @IsString({ each: true })
  @ArrayMaxSize(50)
  events?: string[];

  @ApiPropertyOptional({
    enum: ['json', 'slack'],
    description: 'json: the event itself; slack: text + blocks for an incoming chat webhook',
  })
  @IsOptional()
  @IsIn(['json', 'slack'])
  format?: 'json' | 'slack';

  @ApiPropertyOptional({ description: 'the HMAC key; Dockyard makes one (shown once) when absent' })
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'secret must be at least 16 characters' })
  @MaxLength(200)
  secret?: string;
}

export class HookPatchBody extends PartialType(HookBody) {}

/** Outgoing webhooks of a project (admins), with their delivery log, as GitHub shows its own. */
@ApiTags('hooks')
@ApiBearerAuth()
@Controller('api/v1/projects/:owner/:name/hooks')
export class HooksController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly hooks: HookAdmin,
  ) {}

  @Post()
  @RequireScope('admin')
  @ApiOperation({ summary: 'Subscribe a URL to events of this project; the answer holds the secret, once' })
  async create(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Body() body: HookBody,
    @CurrentActor() actor: Actor,
  ) {
    const project = await requireProject(this.projects, `${owner}/${name}`);
    const { hook, secret } = await this.hooks.create(project.id, body, actor.label);
    return { ...hookView(hook), secret };
  }

  @Get()
  @RequireScope('admin')
  async list(@Param('owner') owner: string, @Param('name') name: string) {
    const project = await requireProject(this.projects, `${owner}/${name}`);
    return (await this.hooks.list(project.id)).map(hookView);
  }

  @Get(':id')
  @RequireScope('admin')
  async get(@Param('owner') owner: string, @Param('name') name: string, @Param('id', ParseUUIDPipe) id: string) {
    const project = await requireProject(this.projects, `${owner}/${name}`);
    return hookView(await this.hooks.get(project.id, id));
  }

  @Patch(':id')
  @RequireScope('admin')
  @ApiOperation({ summary: "Change a hook's URL, events, format or secret" })
  async update(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: HookPatchBody,
  ) {
    const project = await requireProject(this.projects, `${owner}/${name}`);
    return hookView(await this.hooks.update(project.id, id, body));
  }

  @Post(':id/enable')
  @HttpCode(200)
  @RequireScope('admin')
  @ApiOperation({ summary: 'Turn a hook that was disabled for failing back on' })
  async enable(@Param('owner') owner: string, @Param('name') name: string, @Param('id', ParseUUIDPipe) id: string) {
    const project = await requireProject(this.projects, `${owner}/${name}`);
    return hookView(await this.hooks.enable(project.id, id));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('admin')
  async remove(@Param('owner') owner: string, @Param('name') name: string, @Param('id', ParseUUIDPipe) id: string) {
    const project = await requireProject(this.projects, `${owner}/${name}`);
    await this.hooks.remove(project.id, id);
  }

  @Get(':id/deliveries')
  @RequireScope('admin')
  @ApiOperation({
    summary: 'The delivery log, newest first: status, HTTP code, time taken, the start of the answer, attempts',
  })
  async deliveries(@Param('owner') owner: string, @Param('name') name: string, @Param('id', ParseUUIDPipe) id: string) {
    const project = await requireProject(this.projects, `${owner}/${name}`);
    return (await this.hooks.deliveries(project.id, id)).map(deliveryView);
  }

  @Post(':id/deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  @RequireScope('admin')
  @ApiOperation({ summary: "Send a delivery's event again (a new delivery, with its own id and log)" })
  async redeliver(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('deliveryId', ParseUUIDPipe) deliveryId: string,
  ) {
    const project = await requireProject(this.projects, `${owner}/${name}`);
    return deliveryView(await this.hooks.redeliver(project.id, id, deliveryId));
  }
}
