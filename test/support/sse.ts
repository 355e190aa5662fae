export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/**
 * A Server-Sent Events client over fetch, as a bot would write one: it collects messages and can
 * wait for one that matches. close() ends the connection (the bot leaves).
 */
export class SseClient {
  readonly messages: SseMessage[] = [];
  private readonly abort = new AbortController();
  private waiters: (() => void)[] = [];
  status = 0;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string>,
  ) {}

  async open(): Promise<this> {
    const res = await fetch(this.url, { headers: this.headers, signal: this.abort.signal });
    this.status = res.status;
    if (res.status !== 200 || !res.body) throw new Error(`SSE ${this.url}: HTTP ${res.status} ${await res.text()}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    this.done = (async () => {
      let buffer = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const msg: SseMessage = { data: '' };
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('id: ')) msg.id = line.slice(4);
              else if (line.startsWith('event: ')) msg.event = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (!data.length) continue;
            msg.data = data.join('\n');
            this.messages.push(msg);
            for (const w of this.waiters.splice(0)) w();
          }
        }
      } catch {
        // aborted, or the server went away
      }
      for (const w of this.waiters.splice(0)) w();
    })();
    return this;
  }

  /** Wait (with a deadline) for a message that matches. */
  async next(match: (m: SseMessage) => boolean, ms = 30_000): Promise<SseMessage> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching SSE message within ${ms} ms (got ${this.messages.map((m) => m.event).join(', ')})`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Wait until the server ends the stream (an api shutting down). */
  ended(): Promise<void> {
    return this.done;
  }

  close(): Promise<void> {
    this.abort.abort();
    return this.done;
  }
}
