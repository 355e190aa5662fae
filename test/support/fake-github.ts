import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedStatus {
  owner: string;
  repo: string;
  sha: string;
  context: string;
  state: string;
  description: string;
  target_url: string;
}

/** A local HTTP server in the shape of GitHub's REST API that records commit statuses. */
export class FakeGitHub {
  readonly statuses: RecordedStatus[] = [];
  /** While > 0, answer that many requests with 503, as an outage would. */
  failNext = 0;
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void readBody(req).then((body) => {
        const m = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(req.url ?? '');
        if (req.method === 'POST' && m) {
          if (this.failNext > 0) {
            this.failNext--;
            res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"unavailable"}');
            return;
          }
          const json = JSON.parse(body) as Omit<RecordedStatus, 'owner' | 'repo' | 'sha'>;
          this.statuses.push({ owner: m[1], repo: m[2], sha: m[3], ...json });
          res
            .writeHead(201, { 'content-type': 'application/json' })
            .end(JSON.stringify({ id: this.statuses.length, ...json }));
          return;
        }
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  of(sha: string, context: string): string[] {
    return this.statuses.filter((s) => s.sha === sha && s.context === context).map((s) => s.state);
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => resolve(data));
  });
}
