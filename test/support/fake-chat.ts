import { Server, createServer } from 'node:http';
import { freePort } from './net';

export interface ChatRequest {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A chat service's incoming webhook on 127.0.0.1: it records what it is sent and answers `status`
 * (200 unless told otherwise). stop()/start() take it off the network and back on the same port.
 */
export class FakeChat {
  readonly received: ChatRequest[] = [];
  status = 200;
  private server: Server | null = null;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(): Promise<this> {
    this.port ||= await freePort();
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (this.status >= 200 && this.status < 300) this.received.push({ headers: req.headers, body });
        res.writeHead(this.status, { 'Content-Type': 'text/plain' }).end(this.status < 300 ? 'ok' : 'no_service');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The events received (parsed bodies), in arrival order. */
  events<T = { id: string; type: string }>(): T[] {
    return this.received.map((r) => JSON.parse(r.body) as T);
  }
}
