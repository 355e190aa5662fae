import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { Event, Hook, Prisma } from '../generated/client';

/** The Postgres channel that says "the events of this project moved on" (payload: the project id). */
export const EVENTS_CHANNEL = 'dockyard_events';

export interface NewEvent {
  type: string;
  version: number;
  projectId: string;
  stage?: string | null;
  digest?: string | null;
  commit?: string | null;
  actor: string;
  subject?: string | null;
  data: Prisma.InputJsonValue;
}

export type EventWithProject = Event & { project: { owner: string; name: string } };

const withProject = { project: { select: { owner: true, name: true } } } satisfies Prisma.EventInclude;

/**
 * The event table: the record every stream and hook reads. Writers hold one transaction-scoped lock
 * from before their id is drawn until they commit, so ids become visible in order and a reader that
 * resumes "after id N" can never step over a row that commits later with a smaller id.
 */
@Injectable()
export class EventRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Record an event inside the caller's transaction (the fact and its event commit together), or alone. */
  async record(event: NewEvent, tx?: Prisma.TransactionClient): Promise<Event> {
    if (!tx) return this.prisma.$transaction((own) => this.record(event, own));
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended('dockyard:events', 0))`;
    const row = await tx.event.create({ data: event });
    // Delivered to listeners when (and only if) the transaction commits.
    await tx.$executeRaw`SELECT pg_notify(${EVENTS_CHANNEL}, ${event.projectId})`;
    return row;
  }

  after(filter: { projectId?: string; after: bigint; take: number; types?: string[] }): Promise<EventWithProject[]> {
    return this.prisma.event.findMany({
      where: {
        projectId: filter.projectId,
        id: { gt: filter.after },
        type: filter.types ? { in: filter.types } : undefined,
      },
      orderBy: { id: 'asc' },
      take: filter.take,
      include: withProject,
    });
  }

  find(id: bigint): Promise<EventWithProject | null> {
    return this.prisma.event.findUnique({ where: { id }, include: withProject });
  }

  /** The newest event id (0 when there is none): where a stream that asks for "from now on" starts. */
  async lastId(projectId?: string): Promise<bigint> {
    const row = await this.prisma.event.findFirst({
      where: { projectId },
      orderBy: { id: 'desc' },
      select: { id: true },
    });
    return row?.id ?? 0n;
  }

  count(filter: { projectId: string; types: string[]; stage?: string; since?: Date }): Promise<number> {
    return this.prisma.event.count({
      where: {
        projectId: filter.projectId,
        type: { in: filter.types },
        stage: filter.stage,
        at: { gte: filter.since },
      },
    });
  }

  ofTypes(filter: { projectId: string; types: string[]; stage?: string; since?: Date }): Promise<Event[]> {
    return this.prisma.event.findMany({
      where: {
        projectId: filter.projectId,
        type: { in: filter.types },
        stage: filter.stage,
        at: { gte: filter.since },
      },
      orderBy: { id: 'asc' },
    });
  }

  /**
   * Fan the next events out to the hooks that want them: under the cursor's row lock (one dispatcher
   * at a time, wherever it runs), create a pending delivery per matching hook and move the cursor.
   * Returns the new deliveries' ids, in event order.
   */
  fanOut(
    cursor: string,
    take: number,
    wants: (hook: Hook, event: Event) => boolean,
  ): Promise<{ deliveries: string[]; more: boolean }> {
    return this.prisma.$transaction(async (tx) => {
      await tx.eventCursor.upsert({ where: { name: cursor }, create: { name: cursor, eventId: 0n }, update: {} });
      const [{ eventId }] = await tx.$queryRaw<{ eventId: bigint }[]>`
        SELECT "eventId" FROM "EventCursor" WHERE name = ${cursor} FOR UPDATE`;
      const events = await tx.event.findMany({ where: { id: { gt: eventId } }, orderBy: { id: 'asc' }, take });
      if (!events.length) return { deliveries: [], more: false };
      const projectIds = [...new Set(events.map((e) => e.projectId))];
      const hooks = await tx.hook.findMany({ where: { projectId: { in: projectIds }, disabledAt: null } });
      const rows = events.flatMap((event) =>
        hooks
          .filter((h) => h.projectId === event.projectId && wants(h, event))
          .map((h) => ({ hookId: h.id, eventId: event.id })),
      );
      const created = rows.length
        ? await tx.hookDelivery.createManyAndReturn({ data: rows, select: { id: true, eventId: true } })
        : [];
      await tx.eventCursor.update({ where: { name: cursor }, data: { eventId: events[events.length - 1].id } });
      created.sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
      return { deliveries: created.map((d) => d.id), more: events.length === take };
    });
  }
}
