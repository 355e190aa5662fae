import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { EventListener, EventRepository } from '@dockyard/db';
import type { DockyardEvent, EventType } from './catalogue';
import { eventView } from './event-publisher';

const PAGE = 100;
/** Look again this often without a notification (covers a listener that is reconnecting). */
const POLL_MS = 5_000;

/**
 * A project's events in order, from the table (replay after a given id) and then live: the stream a
 * bot follows. Postgres is the record, so a stream resumed after an api restart misses nothing.
 */
@Injectable()
export class EventStream implements BeforeApplicationShutdown {
  /** Ends every live stream when the app stops, so the HTTP server can close (clients resume elsewhere). */
  private readonly stopping = new AbortController();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly events: EventRepository,
    private readonly listener: EventListener,
  ) {}

  async page(filter: {
    projectId: string;
    after: bigint;
    take: number;
    types?: EventType[];
  }): Promise<DockyardEvent[]> {
    const rows = await this.events.after(filter);
    return rows.map((r) => eventView(r, this.config.http.publicUrl));
  }

  /** Where "from now on" starts: the newest event id of the project. */
  lastId(projectId: string): Promise<bigint> {
    return this.events.lastId(projectId);
  }

  /** Every event after `after`, then each new one as it commits, until `signal` aborts. */
  async *follow(
    filter: { projectId: string; after: bigint; types?: EventType[] },
    leave: AbortSignal,
  ): AsyncGenerator<DockyardEvent> {
    const signal = AbortSignal.any([leave, this.stopping.signal]);
    let after = filter.after;
    let wake: (() => void) | null = null;
    let pending: boolean;
    const unsubscribe = this.listener.subscribe((projectId) => {
      if (projectId !== filter.projectId) return;
      pending = true;
      wake?.();
    });
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        pending = false;
        const events = await this.page({ ...filter, after, take: PAGE });
        for (const e of events) {
          after = BigInt(e.id);
          yield e;
        }
        if (events.length === PAGE || pending) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    }
  }

  beforeApplicationShutdown(): void {
    this.stopping.abort();
  }
}
