import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { EVENTS_CHANNEL } from './repositories/event.repository';

type Listener = (projectId: string) => void;

/**
 * LISTEN on the events channel: one Postgres connection per process, shared by every stream and the
 * hook dispatcher. NOTIFY is transactional (sent at commit, never for a rolled-back fact), so a wake-up
 * always finds its row. It is only a wake-up: readers also look again on a timer, which covers the
 * moments this connection is down.
 */
@Injectable()
export class EventListener implements OnApplicationShutdown {
  private readonly logger = new Logger(EventListener.name);
  private readonly listeners = new Set<Listener>();
  private client: Client | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Call `fn` with the project id of each committed event; returns the unsubscribe. */
  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    void this.connect();
    return () => this.listeners.delete(fn);
  }

  private connect(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= (async () => {
      const client = new Client({ connectionString: this.config.databaseUrl });
      client.on('notification', (msg) => {
        for (const fn of this.listeners) fn(msg.payload ?? '');
      });
      client.on('error', (err) => {
        this.logger.warn(`event listener connection lost: ${err.message}`);
        this.client = null;
        void client.end().catch(() => undefined);
        if (!this.closed) setTimeout(() => void this.connect(), 1_000).unref();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${EVENTS_CHANNEL}`);
        if (this.closed) await client.end();
        else this.client = client;
      } catch (err) {
        this.logger.warn(`event listener cannot connect: ${(err as Error).message}`);
        void client.end().catch(() => undefined);
        if (!this.closed) setTimeout(() => void this.connect(), 1_000).unref();
      }
    })().finally(() => (this.connecting = null));
    return this.connecting;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.connecting;
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }
}
