import { once } from 'node:events';
import { IncomingMessage, Server, ServerResponse, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DockerEngine } from '@dockyard/docker';
import { RegistryClient } from '@dockyard/registry';
import { TestApp, startApp } from './support/app';
import { SCRATCH_DOCKERFILE } from './support/git-repo';
import { Scenario } from './support/scenario';

jest.setTimeout(240_000);

/**
 * The registry at an address only Dockyard's HTTP client may use, as `registry:5000` is in compose:
 * a proxy to the shared registry that refuses the Docker Engine (it identifies itself as docker/…).
 */
class ClientOnlyAddress {
  readonly server: Server;
  clientRequests = 0;
  engineRequests = 0;

  constructor(private readonly upstream: URL) {
    this.server = createServer((req, res) => this.forward(req, res));
  }

  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    if (req.headers['user-agent']?.startsWith('docker/')) {
      this.engineRequests++;
      res.writeHead(403, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'DENIED', message: 'the Docker Engine cannot reach this address' }] }));
      return;
    }
    this.clientRequests++;
    const upstream = httpRequest(
      {
        host: this.upstream.hostname,
        port: this.upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}

describe('the registry seen at two addresses: REGISTRY_URL for Dockyard, REGISTRY_ENGINE_HOST for the engine', () => {
  const registryUrl = new URL(process.env.REGISTRY_URL!);
  // The engine's name for the shared registry: another spelling of it, trusted over http (loopback).
  const engineHost = `localhost:${registryUrl.port}`;
  const clientOnly = new ClientOnlyAddress(registryUrl);
  let t: TestApp;
  let s: Scenario;

  beforeAll(async () => {
    const url = await clientOnly.listen();
    t = await startApp({ REGISTRY_URL: url, REGISTRY_ENGINE_HOST: engineHost });
    s = new Scenario(t);
    await s.user('admin', 'admin', ['admin']);
    await s.register('admin');
  });

  afterAll(async () => {
    await t?.close();
    s?.remove();
    await clientOnly.close();
  });

  it('pushes and pulls through the engine address, and reads and writes tags through REGISTRY_URL', async () => {
    const digest = await s.pushAndBuild(
      {
        Dockerfile: SCRATCH_DOCKERFILE,
        'app/v': '1',
        '.dockyard.yml': [
          `image: ${s.image}`,
          'test:',
          '  - { name: unit, run: "test -f /app/v" }',
          'stages:',
          '  - { name: dev, auto: true }',
          '  - name: test',
          '    test:',
          '      - { name: smoke, run: "test -f /app/v" }',
        ].join('\n'),
      },
      'admin',
    );
    const docker = t.app.get(DockerEngine).docker;
    const ref = `${engineHost}/${s.image}@${digest}`;
    const built = await docker.getImage(ref).inspect();
    expect(built.RepoDigests).toContain(ref);

    // As on a worker whose engine never had the image: the stage's suite must pull it by digest.
    await docker.getImage(built.Id).remove({ force: true });
    const res = await s.promote('admin', digest, 'test').expect(202);
    expect(await s.settled(res.body.id, 'admin')).toMatchObject({
      status: 'promoted',
      testRuns: [expect.objectContaining({ name: 'smoke', status: 'passed' })],
    });
    expect((await docker.getImage(ref).inspect()).RepoDigests).toContain(ref);

    expect(await s.stages('admin')).toMatchObject({ dev: digest, test: digest });
    expect(await t.app.get(RegistryClient).resolve(s.image, 'test')).toBe(digest);
    expect(clientOnly.clientRequests).toBeGreaterThan(0);
    expect(clientOnly.engineRequests).toBe(0);
    await docker.getImage(built.Id).remove({ force: true });
  });
});
