import type { Request, Response } from 'express';

const FOLLOW_POLL_MS = 300;

type Chunk = { seq: number; stream: string; text: string };

/** Where a log lives (a build's or a deploy's: same chunks), and whether it can still grow. */
export interface LogSource {
  after(seq: number, take?: number): Promise<Chunk[]>;
  /** The final status once it has ended, else null. */
  ended(): Promise<string | null>;
}

/** The whole log as text, or with follow Server-Sent Events until it ends (resumable by Last-Event-ID). */
export async function sendLog(
  source: LogSource,
  query: { follow?: string; after: number },
  req: Request,
  res: Response,
): Promise<void> {
  if (query.follow !== '1' && query.follow !== 'true') {
    const chunks = await source.after(query.after, 100_000);
    res.type('text/plain').send(chunks.map((c) => c.text).join(''));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  const event = (c: Chunk) =>
    res.write(`id: ${c.seq}\nevent: log\ndata: ${JSON.stringify({ stream: c.stream, text: c.text })}\n\n`);
  let after = Number(req.headers['last-event-id'] ?? query.after) || 0;
  let closed = false;
  req.on('close', () => (closed = true));
  while (!closed) {
    const chunks = await source.after(after);
    for (const c of chunks) {
      event(c);
      after = c.seq;
    }
    if (!chunks.length) {
      const status = await source.ended();
      if (status) {
        // One more read: the last chunks may have landed after the read above.
        for (const c of await source.after(after)) event(c);
        res.write(`event: end\ndata: ${JSON.stringify({ status })}\n\n`);
        break;
      }
      await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
    }
  }
  res.end();
}
