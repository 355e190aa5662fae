import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import type { Request, Response } from 'express';
import { ProjectRepository } from '@dockyard/db';
import { EVENT_TYPES, EventStream, EventType, eventSchemas, schemaName } from '@dockyard/events';
import { InvalidRequestError, requireProject } from '@dockyard/pipeline';
import { RequireScope } from '../auth/auth.guard';

const HEARTBEAT_MS = 15_000;

export class EventsQuery {
  @ApiProperty({ example: 'acme/web' })
  @Matches(/^[\w.-]+\/[\w.-]+$/, { message: 'project must be owner/name' })
  project!: string;

  @ApiPropertyOptional({ description: '1: stream as Server-Sent Events (replay, then live) until the client leaves' })
  @IsOptional()
  @IsIn(['1', 'true', '0', 'false'])
  follow?: string;

  @ApiPropertyOptional({
    description:
      'only events after this id (Last-Event-ID wins when sent). Default: the whole history, or, when following, from now on',
  })
  @IsOptional()
  @Matches(/^\d{1,19}$/, { message: 'after must be an event id' })
  after?: string;

  @ApiPropertyOptional({ description: `comma-separated event types (${EVENT_TYPES.join(', ')})` })
  @IsOptional()
  @IsString()
  types?: string;

  @ApiPropertyOptional({ default: 100, description: 'without follow: how many' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit = 100;
}

/** The event stream for bots and the catalogue's schemas. */
@ApiTags('events')
@ApiBearerAuth()
@Controller('api/v1/events')
export class EventsController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly stream: EventStream,
  ) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: "A project's events, oldest first; ?follow=1 streams them as Server-Sent Events",
    description:
      'Each SSE message has `id:` (send it back as Last-Event-ID to resume: nothing is lost across a reconnect ' +
      'or an api restart), `event:` (the type) and `data:` (the event as JSON). Schemas: DockyardEvent_*.',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'resume after this event id' })
  @ApiOkResponse({
    schema: { type: 'array', items: { oneOf: EVENT_TYPES.map((t) => ({ $ref: getSchemaPath(schemaName(t)) })) } },
  })
  async events(@Query() query: EventsQuery, @Req() req: Request, @Res() res: Response) {
    const project = await requireProject(this.projects, query.project);
    const types = query.types ? parseTypes(query.types) : undefined;
    const header = req.headers['last-event-id'];
    const lastEventId = Array.isArray(header) ? header[0] : header;
    if (lastEventId !== undefined && !/^\d{1,19}$/.test(lastEventId))
      throw new InvalidRequestError('Last-Event-ID must be an event id');
    const given = lastEventId ?? query.after;
    const follow = query.follow === '1' || query.follow === 'true';

    if (!follow) {
      const events = await this.stream.page({
        projectId: project.id,
        after: BigInt(given ?? 0),
        take: query.limit,
        types,
      });
      res.json(events);
      return;
    }
    const after = given !== undefined ? BigInt(given) : await this.stream.lastId(project.id);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 2000\n: events of ${query.project} after ${after}\n\n`);
    const abort = new AbortController();
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    req.on('close', () => abort.abort());
    try {
      for await (const e of this.stream.follow({ projectId: project.id, after, types }, abort.signal)) {
        res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      }
    } finally {
      clearInterval(heartbeat);
      res.end();
    }
  }

  @Get('schema.json')
  @ApiOperation({ summary: 'JSON Schema of every event type (the same as the DockyardEvent_* components here)' })
  schema() {
    return eventSchemas();
  }
}

function parseTypes(list: string): EventType[] {
  const types = list
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const unknown = types.filter((t) => !EVENT_TYPES.includes(t as EventType));
  if (unknown.length) throw new InvalidRequestError(`unknown event type(s): ${unknown.join(', ')}`);
  return types as EventType[];
}
