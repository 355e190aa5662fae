import { Injectable, Logger } from '@nestjs/common';
import {
  AuditRepository,
  DeployRepository,
  EnvironmentRepository,
  EnvironmentWithTargets,
  HostObservation,
  HostStatusRepository,
  PromotionRepository,
  Target,
} from '@dockyard/db';
import { TargetConnector, TargetEngine } from '@dockyard/environments';
import { EventPublisher } from '@dockyard/events';
import { EnvironmentValueStore } from '@dockyard/secrets';
import { SeenContainer, compareHost } from './host-drift';

/**
 * The drift reconciler's look: what each host of an environment really runs (image digest, its
 * variables, running and healthy or not) against the stage's Release, recorded per host. A change of
 * state is audited and, when a host drifts, told as environment.drifted. Environments with a deploy
 * in progress are left alone (old and new containers side by side are not drift).
 */
@Injectable()
export class ObserveHosts {
  private readonly logger = new Logger(ObserveHosts.name);

  constructor(
    private readonly environments: EnvironmentRepository,
    private readonly deploys: DeployRepository,
    private readonly promotions: PromotionRepository,
    private readonly connector: TargetConnector,
    private readonly values: EnvironmentValueStore,
    private readonly hosts: HostStatusRepository,
    private readonly audit: AuditRepository,
    private readonly events: EventPublisher,
  ) {}

  /** One look at every environment that has hosts. */
  async all(): Promise<void> {
    for (const env of await this.environments.listWithTargets()) {
      await this.environment(env).catch((err: Error) =>
        this.logger.warn(`drift of environment ${env.id}: ${err.message}`),
      );
    }
  }

  /** One look at one environment; null when a deploy is in progress there. */
  async environment(env: EnvironmentWithTargets): Promise<HostObservation[] | null> {
    if (!env.targets.length || (await this.deploys.active(env.id)).length) return null;
    const release = await this.promotions.currentRelease(env.stageId);
    const { env: vars } = await this.values.resolve(env.id);
    const seen: HostObservation[] = [];
    for (const target of env.targets) {
      const observed = await this.host(env, target, release?.digest ?? null, vars).catch(
        (err: Error): HostObservation => ({ state: 'down', runningDigest: null, healthy: null, detail: err.message }),
      );
      await this.record(env, target, observed, release?.digest ?? null);
      seen.push(observed);
    }
    return seen;
  }

  private async host(
    env: EnvironmentWithTargets,
    target: Target,
    digest: string | null,
    vars: Record<string, string>,
  ): Promise<HostObservation> {
    const engine = new TargetEngine(target.name, await this.connector.endpoint(target));
    const owned = await engine.owned({ 'dev.dockyard.environment': env.id, 'dev.dockyard.role': 'service' });
    const containers: SeenContainer[] = [];
    for (const c of owned) {
      const info = await engine.inspect(c.id);
      containers.push({
        name: c.name,
        running: info.State.Running,
        health: info.State.Health?.Status,
        image: info.Config.Image,
        labels: info.Config.Labels ?? {},
        env: info.Config.Env ?? [],
      });
    }
    // The image's own defaults (PATH and the like) are on every container of it: not drift.
    const reference = containers.find((c) => c.image.endsWith(`@${digest}`))?.image;
    const imageEnv = reference
      ? ((await engine
          .call('inspect image', () => engine.docker.getImage(reference).inspect())
          .then((i) => i.Config.Env ?? [])
          .catch(() => [])) as string[])
      : [];
    return compareHost({ digest, env: vars, imageEnv }, containers);
  }

  private async record(
    env: EnvironmentWithTargets,
    target: Target,
    seen: HostObservation,
    expected: string | null,
  ): Promise<void> {
    const before = await this.hosts.record(target.id, seen, new Date());
    if (before === seen.state) return;
    await this.audit.record({
      actor: 'system',
      channel: 'system',
      action: `host.${seen.state}`,
      projectId: env.projectId,
      subject: target.id,
      detail: { stage: env.stage.name, host: target.name, before, detail: seen.detail, running: seen.runningDigest },
    });
    if (seen.state === 'drifted' || (seen.state === 'down' && before === 'in_sync')) {
      await this.events.publish({
        type: 'environment.drifted',
        project: { id: env.projectId, owner: env.project.owner, name: env.project.name },
        stage: env.stage.name,
        digest: expected,
        actor: 'system',
        subject: target.id,
        data: {
          environment: env.stage.name,
          host: target.name,
          state: seen.state,
          expected,
          running: seen.runningDigest,
          detail: seen.detail ?? seen.state,
        },
      });
    }
  }
}
