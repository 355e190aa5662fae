import { Body, Controller, Delete, Get, HttpCode, Param, Put, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { parseDuration } from '@dockyard/config';
import type { EnvironmentWithTargets, Target } from '@dockyard/db';
import {
  AddTarget,
  ConfigureEnvironment,
  EnvironmentsOverview,
  RemoveEnvironment,
  RemoveTarget,
  RemoveVariable,
  SetVariable,
  ReconvergeEnvironment,
} from '@dockyard/operations';
import { Actor, InvalidRequestError } from '@dockyard/pipeline';
import { CurrentActor, RequireScope } from '../auth/auth.guard';
import { authorOf } from '../auth/author';

export class ConfigureEnvironmentBody {
  @ApiPropertyOptional({ example: 'https://test.example.com', description: 'where people open it; null clears it' })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  url?: string | null;

  @ApiPropertyOptional({ description: 'containers per host', default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(20)
  replicas?: number;

  @ApiPropertyOptional({ description: 'update every host at once instead of one after the other', default: false })
  @IsOptional()
  @IsBoolean()
  parallel?: boolean;

  @ApiPropertyOptional({ example: '10s', description: 'how long the health check must hold after the switch' })
  @IsOptional()
  @Matches(/^\d+(ms|s|m|h)?$/, { message: 'soak must be a duration such as 10s' })
  soak?: string;
}

export class AddTargetBody {
  @ApiProperty({ example: 'web-1' })
  @IsString()
  name!: string;

  @ApiProperty({ enum: ['socket', 'tls', 'ssh'] })
  @IsIn(['socket', 'tls', 'ssh'])
  kind!: 'socket' | 'tls' | 'ssh';

  @ApiProperty({ example: 'tcp://10.0.0.5:2376' })
  @IsString()
  address!: string;

  @ApiPropertyOptional({ description: 'TLS: the CA certificate (PEM)' })
  @IsOptional()
  @IsString()
  @MaxLength(20_000)
  tlsCa?: string;

  @ApiPropertyOptional({ description: 'TLS: the client certificate (PEM)' })
  @IsOptional()
  @IsString()
  @MaxLength(20_000)
  tlsCert?: string;

  @ApiPropertyOptional({
    description: 'the TLS client key or SSH private key (PEM); sealed, never shown',
    writeOnly: true,
  })
  @IsOptional()
  @IsString()
  @MaxLength(20_000)
  key?: string;

  @ApiPropertyOptional({ description: "the host port of the environment's proxy; default: the first free from 8100" })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65535)
  proxyPort?: number;

  @ApiPropertyOptional({ example: '127.0.0.1', description: 'the address the proxy port is published on' })
  @IsOptional()
  @IsString()
  proxyBind?: string;

  @ApiPropertyOptional({ description: 'hosts are updated in this order' })
  @IsOptional()
  @IsInt()
  @Min(0)
  position?: number;
}

export class SetVariableBody {
  @ApiProperty()
  @IsString()
  @MaxLength(64 * 1024)
  value!: string;
}

function targetView(t: Target) {
  return {
    name: t.name,
    kind: t.kind,
    address: t.address,
    proxyPort: t.proxyPort,
    proxyBind: t.proxyBind,
    position: t.position,
    tlsCa: t.tlsCa !== null,
    tlsCert: t.tlsCert !== null,
    key: t.keyCipher !== null ? 'sealed' : null,
  };
}

function environmentView(e: EnvironmentWithTargets) {
  return {
    stage: e.stage.name,
    url: e.url,
    replicas: e.replicas,
    parallel: e.parallel,
    soakMs: e.soakMs,
    hosts: e.targets.map(targetView),
  };
}

/** Environments of a project's stages (admins change them; anyone who may read sees them). */
@ApiTags('environments')
@ApiBearerAuth()
@Controller('api/v1/projects/:owner/:name/environments')
export class EnvironmentsController {
  constructor(
    private readonly overview: EnvironmentsOverview,
    private readonly configure: ConfigureEnvironment,
    private readonly removeEnvironment: RemoveEnvironment,
    private readonly addTarget: AddTarget,
    private readonly removeTarget: RemoveTarget,
    private readonly setVariable: SetVariable,
    private readonly removeVariable: RemoveVariable,
    private readonly reconverge: ReconvergeEnvironment,
  ) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: 'Each stage: its hosts and their health, running vs recorded digest, URL, the deploy in progress',
  })
  list(@Param('owner') owner: string, @Param('name') name: string) {
    return this.overview.execute(owner, name);
  }

  @Put(':stage')
  @RequireScope('admin')
  @ApiOperation({ summary: "Create a stage's environment or change its settings" })
  async put(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Body() body: ConfigureEnvironmentBody,
    @CurrentActor() actor: Actor,
  ) {
    let soakMs: number | undefined;
    if (body.soak !== undefined) {
      soakMs = parseDuration(body.soak);
      if (soakMs > 3_600_000) throw new InvalidRequestError('soak is at most 1h');
    }
    const { url, replicas, parallel } = body;
    const env = await this.configure.execute({
      owner,
      name,
      stage,
      url,
      replicas,
      parallel,
      soakMs,
      by: authorOf(actor),
    });
    return environmentView(env);
  }

  @Delete(':stage')
  @HttpCode(204)
  @RequireScope('admin')
  @ApiOperation({ summary: "Forget a stage's environment (what runs on its hosts is left alone)" })
  async remove(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @CurrentActor() actor: Actor,
  ) {
    await this.removeEnvironment.execute({ owner, name, stage, by: authorOf(actor) });
  }

  @Post(':stage/reconverge')
  @HttpCode(202)
  @RequireScope('admin')
  @ApiOperation({
    summary: "Deploy the stage's recorded digest to every host again (after drift); done by a worker",
  })
  reconvergeStage(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @CurrentActor() actor: Actor,
  ) {
    return this.reconverge.request({ owner, name, stage, by: authorOf(actor) });
  }

  @Post(':stage/hosts')
  @RequireScope('admin')
  @ApiOperation({ summary: 'Add a host: the local socket, tcp:// with TLS client certificates, or ssh://' })
  async addHost(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Body() body: AddTargetBody,
    @CurrentActor() actor: Actor,
  ) {
    const { name: host, ...rest } = body;
    return targetView(await this.addTarget.execute({ owner, name, stage, host, ...rest, by: authorOf(actor) }));
  }

  @Delete(':stage/hosts/:host')
  @HttpCode(204)
  @RequireScope('admin')
  async removeHost(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Param('host') host: string,
    @CurrentActor() actor: Actor,
  ) {
    await this.removeTarget.execute({ owner, name, stage, host, by: authorOf(actor) });
  }

  @Put(':stage/variables/:variable')
  @RequireScope('admin')
  @ApiOperation({ summary: "Set a plain variable of the environment's containers (secrets: …/secrets/:NAME)" })
  async putVariable(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Param('variable') variable: string,
    @Body() body: SetVariableBody,
    @CurrentActor() actor: Actor,
  ) {
    const v = await this.setVariable.execute({ owner, name, stage, variable, value: body.value, by: authorOf(actor) });
    return { name: v.name, value: v.value, updatedAt: v.updatedAt, updatedBy: v.updatedBy };
  }

  @Delete(':stage/variables/:variable')
  @HttpCode(204)
  @RequireScope('admin')
  async deleteVariable(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Param('variable') variable: string,
    @CurrentActor() actor: Actor,
  ) {
    await this.removeVariable.execute({ owner, name, stage, variable, by: authorOf(actor) });
  }
}
