import { createVerify, KeyObject } from 'node:crypto';
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
  /** The Authorization header the status came with. */
  authorization?: string;
}

/** A deployment as GitHub records it, with every status posted to it in order. */
export interface RecordedDeployment {
  id: number;
  owner: string;
  repo: string;
  ref: string;
  environment: string;
  description?: string;
  production_environment?: boolean;
  transient_environment?: boolean;
  auto_merge?: boolean;
  required_contexts?: string[];
  statuses: { state: string; environment_url?: string; log_url?: string; description?: string }[];
}

/** A GitHub App the fake knows: its JWTs are checked against the public key. */
export interface FakeApp {
  id: number;
  installationId: number;
  publicKey: KeyObject;
}

/** A local HTTP server in the shape of GitHub's REST API that records commit statuses. */
export class FakeGitHub {
  readonly statuses: RecordedStatus[] = [];
  readonly deployments: RecordedDeployment[] = [];
  /** While > 0, answer that many requests with 503, as an outage would. */
  failNext = 0;
  /** Installation tokens handed out, in order. */
  readonly installationTokens: string[] = [];
  app?: FakeApp;
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void readBody(req).then((body) => {
        const install = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(req.url ?? '');
        if (req.method === 'POST' && install && this.app) {
          if (Number(install[1]) !== this.app.installationId || !this.validJwt(req.headers.authorization)) {
            res
              .writeHead(401, { 'content-type': 'application/json' })
              .end('{"message":"A JSON web token could not be decoded"}');
            return;
          }
          const token = `ghs_installation${this.installationTokens.length + 1}`;
          this.installationTokens.push(token);
          res.writeHead(201, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              token,
              expires_at: new Date(Date.now() + 3_600_000).toISOString(),
              permissions: { statuses: 'write' },
              repository_selection: 'all',
            }),
          );
          return;
        }
        const deployment = /^\/repos\/([^/]+)\/([^/]+)\/deployments(?:\/(\d+)\/statuses)?$/.exec(req.url ?? '');
        if (req.method === 'POST' && deployment) {
          if (this.failNext > 0) {
            this.failNext--;
            res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"unavailable"}');
            return;
          }
          const json = JSON.parse(body) as Record<string, unknown>;
          if (!deployment[3]) {
            const d = {
              id: this.deployments.length + 1,
              owner: deployment[1],
              repo: deployment[2],
              statuses: [],
              ...json,
            };
            this.deployments.push(d as unknown as RecordedDeployment);
            res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(d));
            return;
          }
          const d = this.deployments.find((x) => x.id === Number(deployment[3]));
          if (!d) {
            res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
            return;
          }
          d.statuses.push(json as RecordedDeployment['statuses'][number]);
          res
            .writeHead(201, { 'content-type': 'application/json' })
            .end(JSON.stringify({ id: d.statuses.length, ...json }));
          return;
        }
        const m = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(req.url ?? '');
        if (req.method === 'POST' && m) {
          if (this.failNext > 0) {
            this.failNext--;
            res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"unavailable"}');
            return;
          }
          const json = JSON.parse(body) as Omit<RecordedStatus, 'owner' | 'repo' | 'sha'>;
          this.statuses.push({ owner: m[1], repo: m[2], sha: m[3], ...json, authorization: req.headers.authorization });
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

  /** An RS256 app JWT signed by the app's key, issued by the app, not expired. */
  private validJwt(header: string | undefined): boolean {
    const [h, p, sig] = (header ?? '').replace(/^bearer /i, '').split('.');
    if (!h || !p || !sig) return false;
    const ok = createVerify('RSA-SHA256')
      .update(`${h}.${p}`)
      .verify(this.app!.publicKey, Buffer.from(sig, 'base64url'));
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { iss: string | number; exp: number };
    return ok && String(claims.iss) === String(this.app!.id) && claims.exp * 1000 > Date.now();
  }

  of(sha: string, context: string): string[] {
    return this.statuses.filter((s) => s.sha === sha && s.context === context).map((s) => s.state);
  }

  /** The states each deployment of an environment went through, oldest deployment first. */
  deploymentStates(environment: string): string[][] {
    return this.deployments.filter((d) => d.environment === environment).map((d) => d.statuses.map((s) => s.state));
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
