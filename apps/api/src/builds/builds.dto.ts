import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export const BUILD_STATUSES = ['queued', 'running', 'passed', 'failed', 'error', 'cancelled', 'superseded'] as const;

export class ListBuildsQuery {
  @ApiPropertyOptional({ example: 'acme/web' })
  @IsOptional()
  @Matches(/^[\w.-]+\/[\w.-]+$/, { message: 'project must be owner/name' })
  project?: string;

  @ApiPropertyOptional({ enum: BUILD_STATUSES })
  @IsOptional()
  @IsIn(BUILD_STATUSES)
  status?: (typeof BUILD_STATUSES)[number];

  @ApiPropertyOptional({ default: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  page = 1;

  @ApiPropertyOptional({ default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  perPage = 20;
}

export class LogsQuery {
  @ApiPropertyOptional({ description: '1 to stream the log live as Server-Sent Events until the build ends' })
  @IsOptional()
  @IsIn(['0', '1', 'true', 'false'])
  follow?: string;

  @ApiPropertyOptional({ description: 'only chunks after this sequence number' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  after = 0;
}

export class TriggerBuildBody {
  @ApiPropertyOptional({ example: 'main' })
  @IsOptional()
  @IsString()
  @Matches(/^[\w./-]{1,255}$/, { message: 'ref must be a branch, tag or refs/… name' })
  ref?: string;

  @ApiPropertyOptional({ example: 'a'.repeat(40) })
  @IsOptional()
  @Matches(/^[0-9a-f]{40}$/, { message: 'sha must be a full 40-character commit sha' })
  sha?: string;
}
