import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { EventRepository, EventWithProject, Prisma } from '@dockyard/db';
import { CATALOGUE_VERSION, DockyardEvent, EVENT_DATA, EventData, EventType } from './catalogue';

/** What an emit point says happened. The project is given whole: it names the event and its link. */
export interface PublishEvent<T extends EventType = EventType> {
  type: T;
  project: { id: string; owner: string; name: string };
  stage?: string | null;
  digest?: string | null;
  commit?: string | null;
  actor: string;
  /** The build, promotion or deploy it is about. */
  subject?: string | null;
  data: EventData<T>;
}

/**
 * The one way into the event catalogue. Inside a transaction (`tx`), the event commits with the fact
 * it describes or not at all; without one, it is recorded right after the fact, and a failure to
 * record it is logged rather than undoing what already happened.
 */
@Injectable()
export class EventPublisher {
  private readonly logger = new Logger(EventPublisher.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly events: EventRepository,
  ) {}

  async publish<T extends EventType>(event: PublishEvent<T>, tx?: Prisma.TransactionClient): Promise<void> {
    const checked = EVENT_DATA[event.type].safeParse(event.data);
    // A shape the catalogue does not promise is a bug at the emit point: say so, never fail the fact.
    if (!checked.success)
      this.logger.error(`event ${event.type} does not match the catalogue: ${checked.error.message}`);
    const row = {
      type: event.type,
      version: CATALOGUE_VERSION,
      projectId: event.project.id,
      stage: event.stage ?? null,
      digest: event.digest ?? null,
      commit: event.commit ?? null,
      actor: event.actor,
      subject: event.subject ?? null,
      data: event.data as Prisma.InputJsonValue,
    };
    if (tx) {
      await this.events.record(row, tx);
      return;
    }
    await this.events
      .record(row)
      .catch((err: Error) => this.logger.error(`event ${event.type} not recorded: ${err.message}`));
  }

  /** Dashboard links of an event, from the configured public URL. */
  links(project: { owner: string; name: string }, subject?: string | null) {
    const page = `${this.config.http.publicUrl}/projects/${project.owner}/${project.name}`;
    return {
      project: page,
      promotion: subject ? `${page}?promotion=${subject}#promotion-${subject}` : page,
    };
  }

  view(row: EventWithProject): DockyardEvent {
    return eventView(row, this.config.http.publicUrl);
  }
}

/** An event row as the stream, the hooks and the API show it. */
export function eventView(row: EventWithProject, publicUrl: string): DockyardEvent {
  const data = row.data as Record<string, unknown>;
  const project = `${row.project.owner}/${row.project.name}`;
  const link =
    row.type.startsWith('build.') && typeof data.buildId === 'string'
      ? `${publicUrl}/builds/${data.buildId}`
      : typeof data.promotionId === 'string'
        ? `${publicUrl}/projects/${project}?promotion=${data.promotionId}#promotion-${data.promotionId}`
        : `${publicUrl}/projects/${project}`;
  return {
    id: row.id.toString(),
    type: row.type as EventType,
    version: row.version as typeof CATALOGUE_VERSION,
    at: row.at.toISOString(),
    project,
    stage: row.stage,
    digest: row.digest,
    commit: row.commit,
    actor: row.actor,
    subject: row.subject,
    link,
    data,
  };
}
