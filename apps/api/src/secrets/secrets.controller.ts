import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import type { SecretListing } from '@dockyard/db';
import type { Actor } from '@dockyard/pipeline';
import { SecretTarget, SecretsStore } from '@dockyard/secrets';
import { CurrentActor, RequireScope } from '../auth/auth.guard';
import { authorOf } from '../auth/author';

export class SetSecretBody {
  @ApiProperty({ description: 'the value; stored encrypted and never shown again', writeOnly: true })
  @IsString()
  @MinLength(1)
  @MaxLength(64 * 1024)
  value!: string;
}

function view(s: SecretListing) {
  return { name: s.name, updatedAt: s.updatedAt, updatedBy: s.updatedBy };
}

/**
 * Write-only secrets of a project (its builds' `--secret` mounts) and of each of its environments
 * (their containers' variables). Answers name them and say when they changed; never their values.
 */
@ApiTags('secrets')
@ApiBearerAuth()
@Controller('api/v1/projects/:owner/:name')
export class SecretsController {
  constructor(private readonly secrets: SecretsStore) {}

  @Get('secrets')
  @RequireScope('admin')
  @ApiOperation({ summary: "The project's secrets (names and times only)" })
  async list(@Param('owner') owner: string, @Param('name') name: string) {
    return (await this.secrets.list({ owner, name })).map(view);
  }

  @Put('secrets/:secret')
  @RequireScope('admin')
  @ApiOperation({ summary: 'Set a project secret (handed to its builds as a BuildKit secret)' })
  async set(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('secret') secret: string,
    @Body() body: SetSecretBody,
    @CurrentActor() actor: Actor,
  ) {
    return view(await this.secrets.set({ owner, name }, secret, body.value, authorOf(actor)));
  }

  @Delete('secrets/:secret')
  @HttpCode(204)
  @RequireScope('admin')
  async remove(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('secret') secret: string,
    @CurrentActor() actor: Actor,
  ) {
    await this.secrets.remove({ owner, name }, secret, authorOf(actor));
  }

  @Get('environments/:stage/secrets')
  @RequireScope('admin')
  @ApiOperation({ summary: "An environment's secrets (names and times only)" })
  async listOfEnvironment(@Param('owner') owner: string, @Param('name') name: string, @Param('stage') stage: string) {
    return (await this.secrets.list(envTarget(owner, name, stage))).map(view);
  }

  @Put('environments/:stage/secrets/:secret')
  @RequireScope('admin')
  @ApiOperation({ summary: "Set an environment's secret (an env var of its containers)" })
  async setOfEnvironment(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Param('secret') secret: string,
    @Body() body: SetSecretBody,
    @CurrentActor() actor: Actor,
  ) {
    return view(await this.secrets.set(envTarget(owner, name, stage), secret, body.value, authorOf(actor)));
  }

  @Delete('environments/:stage/secrets/:secret')
  @HttpCode(204)
  @RequireScope('admin')
  async removeOfEnvironment(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Param('secret') secret: string,
    @CurrentActor() actor: Actor,
  ) {
    await this.secrets.remove(envTarget(owner, name, stage), secret, authorOf(actor));
  }
}

function envTarget(owner: string, name: string, stage: string): SecretTarget {
  return { owner, name, stage };
}
