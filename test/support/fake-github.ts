import { createHmac, createVerify, KeyObject, randomUUID } from 'node:crypto';
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

/** One attempt at a webhook delivery, as GET /app/hook/deliveries lists it. */
export interface HookDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
}

/**
 * A local HTTP server in the shape of GitHub's REST API: records commit statuses, hands out
 * installation tokens, and keeps a GitHub App's webhook deliveries (listed and redelivered).
 */
export class FakeGitHub {
  readonly statuses: RecordedStatus[] = [];
  readonly deployments: RecordedDeployment[] = [];
  /** While > 0, answer that many requests with 503, as an outage would. */
  failNext = 0;
  /** Installation tokens handed out, in order. */
  readonly installationTokens: string[] = [];
  app?: FakeApp;
  /** The app's delivery attempts, oldest first; what each carried, to send it again. */
  readonly hookDeliveries: HookDelivery[] = [];
  /** Redeliveries asked for (POST /app/hook/deliveries/{id}/attempts), by attempt id. */
  readonly redeliveryRequests: number[] = [];
  private readonly sent = new Map<string, { url: string; secret: string; event: string; body: string }>();
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
        if (req.url?.startsWith('/app/hook/deliveries') && this.app) {
          if (!this.validJwt(req.headers.authorization)) {
            res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Bad credentials"}');
            return;
          }
          const attempt = /^\/app\/hook\/deliveries\/(\d+)\/attempts$/.exec(req.url);
          if (req.method === 'POST' && attempt) {
            const original = this.hookDeliveries.find((d) => d.id === Number(attempt[1]));
            if (!original) {
              res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
              return;
            }
            this.redeliveryRequests.push(original.id);
            res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
            void this.send(original.guid, true);
            return;
          }
          if (req.method === 'GET' && /^\/app\/hook\/deliveries(\?.*)?$/.test(req.url)) {
            res
              .writeHead(200, { 'content-type': 'application/json' })
              .end(JSON.stringify([...this.hookDeliveries].reverse()));
            return;
          }
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

  /**
   * Deliver a webhook as the app would: signed, to `url`, recorded with the status it got. With
   * `lost`, GitHub's attempt fails (502, as when Dockyard is down) and Dockyard never sees it.
   */
  async deliver(
    target: { url: string; secret: string },
    event: string,
    payload: unknown,
    opts: { lost?: boolean } = {},
  ): Promise<HookDelivery> {
    const guid = randomUUID();
    this.sent.set(guid, { ...target, event, body: JSON.stringify(payload) });
    if (opts.lost) return this.recordAttempt(guid, event, 502, false);
    return this.send(guid, false);
  }

  private async send(guid: string, redelivery: boolean): Promise<HookDelivery> {
    const { url, secret, event, body } = this.sent.get(guid)!;
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': event,
        'x-github-delivery': guid,
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      },
      body,
    }).catch(() => null);
    return this.recordAttempt(guid, event, res?.status ?? 0, redelivery);
  }

  private recordAttempt(guid: string, event: string, statusCode: number, redelivery: boolean): HookDelivery {
    const attempt: HookDelivery = {
      id: 1000 + this.hookDeliveries.length,
      guid,
      delivered_at: new Date().toISOString(),
      redelivery,
      status: statusCode >= 200 && statusCode < 300 ? 'OK' : 'failed to connect to host',
      status_code: statusCode,
      event,
      action: null,
    };
    this.hookDeliveries.push(attempt);
    return attempt;
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
