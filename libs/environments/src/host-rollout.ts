import type Docker from 'dockerode';
import { CaddyProxy, type ProxyContainers } from './caddy-proxy';
import { dockerHealthcheck, type ServiceShape } from './service-shape';
import type { OwnedContainer, TargetEngine } from './target-engine';

/** What a deploy puts on one host: the image, the service's shape, its env and its labels. */
export interface HostRelease {
  image: string;
  auth: { username?: string; password?: string; serveraddress: string };
  service: ServiceShape;
  env: Record<string, string>;
  replicas: number;
  /** Labels of every container of this environment (project, stage, environment). */
  environmentLabels: Record<string, string>;
  /** Labels of this deploy's containers (digest, deploy id, config fingerprint). */
  releaseLabels: Record<string, string>;
  /** Names: the environment's network and proxy on the host, and a prefix for service containers. */
  network: string;
  proxyName: string;
  containerPrefix: string;
  proxy: { image: string; bind: string; port: number };
}

/** One host's state during a deploy: enough to finish it, or to put the previous release back. */
export interface HostState {
  proxy: ProxyContainers;
  previous: OwnedContainer[];
  started: string[];
  switched: boolean;
}

type Log = (text: string) => void;

/**
 * Rolls a release out on one host: pull by digest, start the new containers beside the old,
 * wait until Docker says they are healthy, switch the proxy to them, let the old ones drain, stop
 * them (kept, stopped, until the deploy is verified, for an instant way back).
 */
export class HostRollout {
  private readonly proxy: CaddyProxy;

  constructor(
    readonly engine: TargetEngine,
    private readonly release: HostRelease,
    private readonly log: Log,
  ) {
    this.proxy = new CaddyProxy(engine, release.proxy.image);
  }

  get labels(): Record<string, string> {
    return this.release.environmentLabels;
  }

  get proxyName(): string {
    return this.release.proxyName;
  }

  get network(): string {
    return this.release.network;
  }

  async prepare(): Promise<HostState> {
    const r = this.release;
    await this.engine.ensureNetwork(r.network, r.environmentLabels);
    const proxy = await this.proxy.ensure({
      name: r.proxyName,
      network: r.network,
      bind: r.proxy.bind,
      port: r.proxy.port,
      labels: r.environmentLabels,
    });
    const services = await this.engine.owned({ ...r.environmentLabels, 'dev.dockyard.role': 'service' });
    // Stopped leftovers of an earlier deploy that never finished: ours, so ours to clean.
    for (const c of services.filter((c) => c.state !== 'running')) await this.engine.remove(c.id);
    return { proxy, previous: services.filter((c) => c.state === 'running'), started: [], switched: false };
  }

  async pull(): Promise<boolean> {
    return this.engine.pull(this.release.image, this.release.auth, 10 * 60_000);
  }

  /** Start the new containers beside the old ones; nothing routes to them yet. */
  async start(state: HostState, deployId: string): Promise<void> {
    const r = this.release;
    for (let i = 0; i < r.replicas; i++) {
      const spec: Docker.ContainerCreateOptions = {
        name: `${r.containerPrefix}-${deployId.slice(0, 8)}-${i + 1}`,
        Image: r.image,
        Env: Object.entries(r.env).map(([k, v]) => `${k}=${v}`),
        Labels: { ...r.environmentLabels, ...r.releaseLabels, 'dev.dockyard.role': 'service' },
        Healthcheck: dockerHealthcheck(r.service),
        StopTimeout: Math.ceil(r.service.stopGraceMs / 1000),
        HostConfig: { NetworkMode: r.network, RestartPolicy: { Name: 'unless-stopped' } },
      };
      if (r.service.command) spec.Cmd = ['/bin/sh', '-c', r.service.command];
      const id = await this.engine.create(spec);
      state.started.push(id);
      await this.engine.start(id);
    }
  }

  /** Wait until every container is healthy; fails with what Docker said about the one that is not. */
  async healthy(ids: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const id of ids) {
      for (;;) {
        const info = await this.engine.inspect(id);
        const health = info.State.Health;
        if (!info.State.Running)
          throw new Error(
            `${this.engine.where()}: container ${info.Name.slice(1)} exited (code ${info.State.ExitCode})`,
          );
        if (health?.Status === 'healthy') break;
        if (health?.Status === 'unhealthy' || Date.now() > deadline) {
          const last = health?.Log?.at(-1);
          const why = last
            ? `exit ${last.ExitCode}${last.Output.trim() ? `: ${last.Output.trim().slice(0, 200)}` : ''}`
            : 'no check ran';
          throw new Error(
            `${this.engine.where()}: container ${info.Name.slice(1)} is ${health?.Status === 'unhealthy' ? 'unhealthy' : `not healthy after ${timeoutMs} ms`} (health check ${why})`,
          );
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    }
  }

  /** Is every container still running and healthy (the soak's question)? Returns why not, or null. */
  async stillHealthy(ids: string[]): Promise<string | null> {
    for (const id of ids) {
      const info = await this.engine.inspect(id);
      if (!info.State.Running)
        return `${this.engine.where()}: container ${info.Name.slice(1)} stopped (code ${info.State.ExitCode})`;
      if (info.State.Health?.Status === 'unhealthy') {
        const last = info.State.Health.Log?.at(-1);
        return `${this.engine.where()}: container ${info.Name.slice(1)} became unhealthy (${last?.Output.trim().slice(0, 200) || `exit ${last?.ExitCode}`})`;
      }
    }
    return null;
  }

  /**
   * Point the host's proxy at these containers, by their address on the environment's network
   * (not by name: an engine without iptables has no embedded DNS).
   */
  async route(state: HostState, ids: string[]): Promise<void> {
    const upstreams = await Promise.all(
      ids.map(async (id) => `${await this.address(id)}:${this.release.service.port}`),
    );
    await this.proxy.route(state.proxy, { upstreams });
  }

  /** A container's address on the environment's network. */
  async address(id: string): Promise<string> {
    const info = await this.engine.inspect(id);
    const ip = info.NetworkSettings.Networks[this.release.network]?.IPAddress;
    if (!ip)
      throw new Error(
        `${this.engine.where()}: container ${info.Name.slice(1)} has no address on ${this.release.network}`,
      );
    return ip;
  }

  /** Requests already on the old containers finish; then they are stopped (kept, for a rollback). */
  async drainAndStop(ids: string[]): Promise<void> {
    if (!ids.length) return;
    await new Promise((res) => setTimeout(res, this.release.service.drainMs));
    await Promise.all(ids.map((id) => this.engine.stop(id, this.release.service.stopGraceMs)));
  }

  /** Put the previous containers back: start them, wait healthy, route to them, remove the new ones. */
  async revert(state: HostState): Promise<void> {
    const previous = state.previous.map((c) => c.id);
    if (previous.length) {
      for (const id of previous) await this.engine.start(id);
      await this.healthy(previous, 60_000 + this.release.service.health.startPeriodMs);
    }
    if (state.switched || !previous.length) await this.route(state, previous);
    state.switched = false;
    await this.removeAll(state.started);
  }

  async removeAll(ids: string[]): Promise<void> {
    for (const id of ids) await this.engine.remove(id);
  }

  /** How long to wait for new containers to turn healthy: the check's start period and retries, with room. */
  healthTimeout(): number {
    const h = this.release.service.health;
    return h.startPeriodMs + (h.intervalMs + h.timeoutMs) * (h.retries + 1) + 30_000;
  }
}
