import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { OwnedContainer, TargetEngine } from './target-engine';

const CADDY = '/usr/bin/caddy';
/** The switch's admin API: on its own loopback, so nothing on the environment's network can reconfigure it. */
const SWITCH_ADMIN = '127.0.0.1:2019';
const CONFIG_DIR = '/etc/caddy';
/** The edge reaches the switch through a unix socket on the switch's volume: a path that never changes. */
const SOCKET_DIR = '/run/dockyard';
const SWITCH_SOCKET = `${SOCKET_DIR}/switch.sock`;

/** Where the environment's proxy on one host sends traffic: the service containers, by address on the network. */
export interface ProxyRoute {
  upstreams: string[];
}

/** The two containers of an environment's proxy on one host. */
export interface ProxyContainers {
  /** Published on the host: the one clients and verify suites talk to. */
  edge: string;
  /** Behind it: the one a deploy re-points at the new containers. */
  switch: string;
}

/**
 * The environment's reverse proxy on one host, as two Caddy containers from one image:
 *
 * - the **edge** holds the clients' connections (published on the host's loopback, or the address the
 *   target names). Its config never changes: it forwards every request to the switch over a unix
 *   socket, a new connection per request, retrying for a moment while the switch is not there;
 * - the **switch** sends requests to the service containers and is re-pointed at each deploy through
 *   its admin API (POST /load, sent by `caddy reload` inside it, so it works over any connection
 *   Dockyard has to the engine: socket, TLS or SSH).
 *
 * Why two: Caddy applies any config change (POST /load, or a PATCH of one path) by starting new
 * servers and shutting the old ones down, which closes every idle keep-alive connection at once. A
 * client that sends its next request on such a connection at that instant gets a reset (Node's
 * fetch: "fetch failed"; measured at about one request in seven config loads under a request every
 * 5 ms). The edge is never reloaded, so clients' connections stay open; it keeps none open to the
 * switch, so there is nothing idle for the switch's reload to close; requests in flight finish on the
 * old switch server and the old containers.
 */
export class CaddyProxy {
  constructor(
    private readonly engine: TargetEngine,
    private readonly image: string,
  ) {}

  /** The edge's config: everything to the switch, nothing kept open to it. */
  static edgeConfig(): object {
    return {
      admin: { disabled: true },
      apps: {
        http: {
          grace_period: '30s',
          servers: {
            env: {
              listen: [':80'],
              automatic_https: { disable: true },
              routes: [
                {
                  handle: [
                    {
                      handler: 'reverse_proxy',
                      upstreams: [{ dial: `unix/${SWITCH_SOCKET}` }],
                      transport: { protocol: 'http', keep_alive: { enabled: false } },
                      // Only a refused connection is retried for every method: it proves nothing was sent.
                      load_balancing: { try_duration: '5s', try_interval: '50ms' },
                    },
                  ],
                },
              ],
            },
          },
        },
      },
    };
  }

  /** The switch's config: the service's containers (a 503 with a reason when there are none). */
  static switchConfig(route: ProxyRoute): object {
    // The edge already set X-Forwarded-*; the switch hears it through a socket with no client address.
    const forwarded = Object.fromEntries(
      ['X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host'].map((h) => [h, [`{http.request.header.${h}}`]]),
    );
    const handle = route.upstreams.length
      ? [
          {
            handler: 'reverse_proxy',
            upstreams: route.upstreams.map((dial) => ({ dial })),
            headers: { request: { set: forwarded } },
            // A request that finds no upstream ready retries for a moment instead of failing.
            load_balancing: { selection_policy: { policy: 'round_robin' }, try_duration: '5s', try_interval: '50ms' },
          },
        ]
      : [{ handler: 'static_response', status_code: 503, body: 'nothing is deployed here yet\n' }];
    return {
      admin: { listen: SWITCH_ADMIN },
      apps: {
        http: {
          grace_period: '30s',
          servers: {
            env: { listen: [`unix/${SWITCH_SOCKET}`], automatic_https: { disable: true }, routes: [{ handle }] },
          },
        },
      },
    };
  }

  /** The proxy of an environment on this host, running: its switch, then its edge on the published port. */
  async ensure(opts: {
    name: string;
    network: string;
    bind: string;
    port: number;
    labels: Record<string, string>;
  }): Promise<ProxyContainers> {
    const mine = await this.engine.owned({ ...opts.labels, 'dev.dockyard.role': 'proxy' });
    // A proxy from before the edge/switch split holds the port: it goes (once) for the pair.
    for (const c of mine.filter((c) => !c.labels['dev.dockyard.proxy'])) await this.engine.remove(c.id);
    await ensureProxyImage(this.engine, this.image);
    // The switch's socket lives on an anonymous volume of its own, which the edge mounts from it; it
    // goes when the last of the two is removed (TargetEngine.remove removes anonymous volumes).
    const switched = await this.container(mine, {
      name: `${opts.name}-switch`,
      part: 'switch',
      labels: opts.labels,
      // --resume: after a restart, the last routed config (Caddy's autosave), not an empty one.
      command: ['run', '--config', `${CONFIG_DIR}/switch.json`, '--resume'],
      config: { 'switch.json': CaddyProxy.switchConfig({ upstreams: [] }) },
      host: { NetworkMode: opts.network, Mounts: [{ Type: 'volume', Source: '', Target: SOCKET_DIR }] },
    });
    // An edge left from a switch that is gone mounts the old one's volume: it is made again with the new.
    const orphan = switched.created && mine.find((m) => m.labels['dev.dockyard.proxy'] === 'edge');
    if (orphan) await this.engine.remove(orphan.id);
    const edge = await this.container(orphan ? [] : mine, {
      name: opts.name,
      part: 'edge',
      labels: opts.labels,
      command: ['run', '--config', `${CONFIG_DIR}/edge.json`],
      config: { 'edge.json': CaddyProxy.edgeConfig() },
      exposed: { '80/tcp': {} },
      host: {
        NetworkMode: opts.network,
        VolumesFrom: [switched.id],
        PortBindings: { '80/tcp': [{ HostIp: opts.bind, HostPort: String(opts.port) }] },
      },
    });
    return { edge: edge.id, switch: switched.id };
  }

  /** One of the two: started if it exists, else created with its config copied in before it starts. */
  private async container(
    mine: OwnedContainer[],
    c: {
      name: string;
      part: 'edge' | 'switch';
      labels: Record<string, string>;
      command: string[];
      config: Record<string, object>;
      exposed?: Record<string, object>;
      host: Docker.HostConfig;
    },
  ): Promise<{ id: string; created: boolean }> {
    const found = mine.find((m) => m.name === c.name && m.labels['dev.dockyard.proxy'] === c.part);
    if (found) {
      if (found.state !== 'running') await this.engine.start(found.id);
      return { id: found.id, created: false };
    }
    const id = await this.engine.create({
      name: c.name,
      Image: this.image,
      Entrypoint: [CADDY],
      Cmd: c.command,
      Labels: { ...c.labels, 'dev.dockyard.role': 'proxy', 'dev.dockyard.proxy': c.part },
      ExposedPorts: c.exposed,
      HostConfig: { ...c.host, RestartPolicy: { Name: 'unless-stopped' } },
    });
    const files = Object.fromEntries(Object.entries(c.config).map(([file, json]) => [file, JSON.stringify(json)]));
    await this.engine.putArchive(id, CONFIG_DIR, tarOf(files));
    await this.engine.start(id);
    return { id, created: true };
  }

  /** Point the switch at these upstreams (graceful: what is in flight finishes where it started). */
  async route(proxy: ProxyContainers, route: ProxyRoute): Promise<void> {
    const file = 'next.json';
    await this.engine.putArchive(
      proxy.switch,
      CONFIG_DIR,
      tarOf({ [file]: JSON.stringify(CaddyProxy.switchConfig(route)) }),
    );
    // The admin endpoint may still be starting in a fresh switch: try again for a few seconds.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await this.engine.exec(proxy.switch, [
        CADDY,
        'reload',
        '--config',
        `${CONFIG_DIR}/${file}`,
        '--address',
        SWITCH_ADMIN,
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

/** FROM scratch + /usr/bin/caddy + the libraries ldd names; each container brings its own config (see ensure). */
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
  for (const d of ['etc/caddy', 'data', 'config', 'tmp', 'run/dockyard'])
    mkdirSync(path.join(root, d), { recursive: true });
  writeFileSync(
    path.join(dir, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY rootfs/ /',
      'ENV HOME=/data XDG_DATA_HOME=/data XDG_CONFIG_HOME=/config',
      'EXPOSE 80',
      'ENTRYPOINT ["/usr/bin/caddy"]',
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
