import { Body, Controller, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { Actor, SignOffStage } from '@dockyard/pipeline';
import { CurrentActor, RequireScope } from '../auth/auth.guard';
import { requesterOf } from './requester';

export class SignOffBody {
  @ApiProperty({ enum: ['passes', 'fails'], description: '"tested: passes" or "fails"' })
  @IsIn(['passes', 'fails'], { message: 'result must be "passes" or "fails"' })
  result!: 'passes' | 'fails';

  @ApiPropertyOptional({ example: 'checked the checkout flow' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  comment?: string;

  @ApiPropertyOptional({ description: 'the digest you tested; refused if the stage holds another by now' })
  @IsOptional()
  @Matches(/^sha256:[0-9a-f]{64}$/, { message: 'digest must be sha256:<64 hex>' })
  digest?: string;
}

/** Manual test sign-off of what a stage holds (testers: the next stage's `signoff` rule). */
@ApiTags('promotions')
@ApiBearerAuth()
@Controller('api/v1/projects/:owner/:name/stages/:stage/signoff')
export class SignOffController {
  constructor(private readonly signOff: SignOffStage) {}

  @Post()
  @RequireScope('promote')
  @ApiOperation({ summary: 'Sign off the digest a stage holds after manual testing: passes or fails, with a comment' })
  async create(
    @Param('owner') owner: string,
    @Param('name') name: string,
    @Param('stage') stage: string,
    @Body() body: SignOffBody,
    @CurrentActor() actor: Actor,
  ) {
    const row = await this.signOff.execute({ owner, name, stage, ...body, requester: requesterOf(actor) });
    return {
      stage: row.stage,
      digest: row.digest,
      result: row.result,
      comment: row.comment,
      by: row.login,
      at: row.createdAt,
    };
  }
}
