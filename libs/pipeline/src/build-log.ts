import type { BuildRepository } from '@dockyard/db';

const FLUSH_MS = 200;
const MAX_CHUNK = 64 * 1024;

/**
 * A build's log, written to Postgres in ordered chunks as output arrives: buffered for a moment so
 * that a chatty build makes few inserts, and readable by the API (and its live follow) meanwhile.
 */
export class BuildLogWriter {
  private seq: number;
  private pending: { seq: number; stream: string; text: string }[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly builds: Pick<BuildRepository, 'appendLogs'>,
    private readonly buildId: string,
    lastSeq: number,
  ) {
    this.seq = lastSeq;
  }

  write(stream: string, text: string): void {
    if (!text) return;
    for (let i = 0; i < text.length; i += MAX_CHUNK) {
      this.pending.push({ seq: ++this.seq, stream, text: text.slice(i, i + MAX_CHUNK) });
    }
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  line(stream: string, text: string): void {
    this.write(stream, text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Write what is buffered; resolves when everything written so far is in Postgres. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(() => this.builds.appendLogs(this.buildId, batch)).catch(() => undefined);
    return this.flushing;
  }
}
