import { Body, Controller, Delete, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { ArrayNotEmpty, IsArray, IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { AccessTokens, Actor, ForbiddenError, SCOPES, Scope, actorOf } from '@dockyard/pipeline';
import { CurrentActor, RequireScope } from './auth/auth.guard';

export class CreateTokenBody {
  @ApiProperty({ example: 'chatops bot' })
  @IsString()
  name!: string;

  @ApiProperty({ enum: SCOPES, isArray: true })
  @IsArray()
  @ArrayNotEmpty()
  @IsIn(SCOPES, { each: true })
  scopes!: Scope[];

  @ApiPropertyOptional({ description: 'days until it expires' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(366)
  days?: number;
}

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('api/v1/tokens')
export class TokensController {
  constructor(private readonly tokens: AccessTokens) {}

  @Post()
  @RequireScope('read')
  @ApiOperation({ summary: 'Create an API token for yourself; it is shown once' })
  async create(@Body() body: CreateTokenBody, @CurrentActor() actor: Actor) {
    if (actor.channel === 'chat') throw new ForbiddenError('a bot acting for someone may not create tokens');
    const wider = body.scopes.filter((s) => !AccessTokens.allows(actor, s));
    if (wider.length) throw new ForbiddenError(`this token may not grant scope(s) it lacks: ${wider.join(', ')}`);
    const expires = body.days ? new Date(Date.now() + body.days * 86_400_000) : undefined;
    const { token, id } = await this.tokens.issue(actor.user, body.name, body.scopes, expires, actorOf(actor));
    return { id, token, scopes: body.scopes, expiresAt: expires ?? null };
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('read')
  @ApiOperation({ summary: 'Revoke a token (yours, or any with the admin scope; never on behalf of someone)' })
  async revoke(@Param('id', ParseUUIDPipe) id: string, @CurrentActor() actor: Actor) {
    await this.tokens.revoke(id, actor);
  }
}
