import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { TargetEngine } from './target-engine';

const CADDY = '/usr/bin/caddy';
const ADMIN = '0.0.0.0:2019';
const CONFIG_DIR = '/etc/caddy';

/** Where the environment's proxy on one host sends traffic: the service containers, by name on the network. */
export interface ProxyRoute {
  upstreams: string[];
}

/**
 * The environment's reverse proxy on one host: Caddy in a container on the environment's user
 * network, published on the host's loopback (or the address the target names), driven through its
 * admin API (POST /load, by `caddy reload` inside the container, so it works over any connection
 * Dockyard has to the engine: socket, TLS or SSH). A reload is graceful: requests in flight finish
 * on the old upstream while new ones go to the new.
 */
export class CaddyProxy {
  constructor(
    private readonly engine: TargetEngine,
    private readonly image: string,
  ) {}

  /** Caddy's JSON config sending everything to the upstreams (a 503 with a reason when there are none). */
  static config(route: ProxyRoute): object {
    const handle = route.upstreams.length
      ? [
          {
            handler: 'reverse_proxy',
            upstreams: route.upstreams.map((dial) => ({ dial })),
            // A request that finds no upstream ready retries for a moment instead of failing.
            load_balancing: { selection_policy: { policy: 'round_robin' }, try_duration: '5s', try_interval: '50ms' },
          },
        ]
      : [{ handler: 'static_response', status_code: 503, body: 'nothing is deployed here yet\n' }];
    return {
      admin: { listen: ADMIN },
      apps: {
        http: {
          grace_period: '30s',
          servers: { env: { listen: [':80'], automatic_https: { disable: true }, routes: [{ handle }] } },
        },
      },
    };
  }

  /** The proxy container of an environment on this host, running, on its network and published port. */
  async ensure(opts: { name: string; network: string; bind: string; port: number; labels: Record<string, string> }) {
    const found = (await this.engine.owned({ ...opts.labels, 'dev.dockyard.role': 'proxy' })).find(
      (c) => c.name === opts.name,
    );
    if (found?.state === 'running') return found.id;
    if (found) {
      await this.engine.start(found.id);
      return found.id;
    }
    await ensureProxyImage(this.engine, this.image);
    const id = await this.engine.create({
      name: opts.name,
      Image: this.image,
      Labels: { ...opts.labels, 'dev.dockyard.role': 'proxy' },
      ExposedPorts: { '80/tcp': {} },
      HostConfig: {
        NetworkMode: opts.network,
        PortBindings: { '80/tcp': [{ HostIp: opts.bind, HostPort: String(opts.port) }] },
        RestartPolicy: { Name: 'unless-stopped' },
      },
    });
    await this.engine.start(id);
    return id;
  }

  /** Point the proxy at these upstreams (graceful: nothing in flight is dropped). */
  async route(proxyId: string, route: ProxyRoute): Promise<void> {
    const file = 'next.json';
    await this.engine.putArchive(proxyId, CONFIG_DIR, tarOf({ [file]: JSON.stringify(CaddyProxy.config(route)) }));
    // The admin endpoint may still be starting in a fresh proxy: try again for a few seconds.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await this.engine.exec(proxyId, [
        CADDY,
        'reload',
        '--config',
        `${CONFIG_DIR}/${file}`,
        '--address',
        '127.0.0.1:2019',
        '--force',
      ]);
      if (res.exitCode === 0) return;
      if (Date.now() > deadline)
        throw new Error(`${this.engine.where()}: the proxy refused its new config: ${res.output.trim()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** The proxy image on a target: pulled when configured, else built there from this machine's Caddy. */
async function ensureProxyImage(engine: TargetEngine, image: string): Promise<void> {
  if (await engine.hasImage(image)) return;
  if (!image.startsWith(LOCAL_PROXY_REPO)) {
    await engine.pull(image, { serveraddress: image.split('/')[0] }, 10 * 60_000);
    return;
  }
  await engine.build(proxyBuildContext(), image, 5 * 60_000);
}

const LOCAL_PROXY_REPO = 'dockyard-proxy:';

/** The tag of the proxy image built from the local Caddy binary (changes when the binary does). */
export function localProxyImage(): string {
  if (!existsSync(CADDY))
    throw new Error(`${CADDY} is missing: install Debian's caddy (apt-get install caddy) or set DEPLOY_PROXY_IMAGE`);
  const hash = createHash('sha256').update(readFileSync(CADDY)).digest('hex').slice(0, 12);
  return `${LOCAL_PROXY_REPO}caddy-${hash}`;
}

/** FROM scratch + /usr/bin/caddy + the libraries ldd names, with an initial config that opens the admin API. */
function proxyBuildContext(): Readable {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockyard-proxy-'));
  const root = path.join(dir, 'rootfs');
  const libs = execFileSync('ldd', [CADDY], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.match(/(\/\S+)\s+\(0x/)?.[1])
    .filter((p): p is string => !!p);
  for (const file of [CADDY, ...libs]) {
    mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    copyFileSync(file, path.join(root, file));
  }
  for (const d of ['etc/caddy', 'data', 'config', 'tmp']) mkdirSync(path.join(root, d), { recursive: true });
  writeFileSync(path.join(root, 'etc/caddy/caddy.json'), JSON.stringify(CaddyProxy.config({ upstreams: [] })));
  writeFileSync(
    path.join(dir, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY rootfs/ /',
      'ENV HOME=/data XDG_DATA_HOME=/data XDG_CONFIG_HOME=/config',
      'EXPOSE 80 2019',
      'ENTRYPOINT ["/usr/bin/caddy", "run", "--config", "/etc/caddy/caddy.json"]',
    ].join('\n'),
  );
  const tar = spawn('tar', ['-c', '-h', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  tar.on('close', () => rmSync(dir, { recursive: true, force: true }));
  return tar.stdout;
}

/** A tar archive of small text files (what putArchive takes), made by tar itself. */
export function tarOf(files: Record<string, string>): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockyard-tar-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
    return execFileSync('tar', ['-c', '-C', dir, ...Object.keys(files)], { maxBuffer: 64 * 1024 * 1024 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
