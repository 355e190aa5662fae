import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import {
  AuditRepository,
  Deploy,
  DeployKind,
  DeployRepository,
  DeployStatus,
  DeployWithSteps,
  EnvironmentRepository,
  EnvironmentWithTargets,
  Target,
} from '@dockyard/db';
import { BuildLogWriter, type PipelineService, type PipelineVerify } from '@dockyard/pipeline';
import { HostRollout, HostState } from './host-rollout';
import { localProxyImage } from './caddy-proxy';
import { serviceShape } from './service-shape';
import { TargetConnector } from './target-connector';
import { DEPLOY_WATCHER, DeployWatcher } from './deploy-watcher';
import { ENVIRONMENT_VALUES, EnvironmentValues } from './environment-values';
import { TargetEngine } from './target-engine';

export interface DeployCommand {
  environmentId: string;
  /** Registry repository and digest: what is deployed (pulled by digest, never by tag). */
  repository: string;
  digest: string;
  kind: DeployKind;
  promotionId?: string | null;
  by: string;
  /** The image's own pipeline: the service block and the stage's verify suites. */
  service?: PipelineService | null;
  verify?: PipelineVerify[];
}

/** The deploy's record and what it ended as; `reason` says why it failed. */
export type DeployOutcome = DeployWithSteps;

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/**
 * Deploy a digest to every host of an environment, then verify it; on any failure, every host
 * already switched goes back to what it ran before. One deploy per environment at a time: the
 * others queue behind it on a Postgres lock.
 */
@Injectable()
export class DeployToEnvironment {
  private readonly logger = new Logger(DeployToEnvironment.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly environments: EnvironmentRepository,
    private readonly deploys: DeployRepository,
    private readonly audit: AuditRepository,
    private readonly connector: TargetConnector,
    @Inject(ENVIRONMENT_VALUES) private readonly values: EnvironmentValues,
    @Optional() @Inject(DEPLOY_WATCHER) private readonly watcher?: DeployWatcher,
  ) {}

  /** Tell the watcher (GitHub Deployments, events) of a status change; a deploy never fails for it. */
  private async tell(deployId: string, status: DeployStatus): Promise<void> {
    await this.watcher
      ?.changed(deployId, status)
      .catch((err: Error) => this.logger.warn(`deploy ${deployId} (${status}) not announced: ${err.message}`));
  }

  async execute(cmd: DeployCommand): Promise<DeployOutcome> {
    const env = await this.environments.find(cmd.environmentId);
    if (!env) throw new Error(`environment ${cmd.environmentId} does not exist`);
    const existing = cmd.promotionId ? await this.deploys.forPromotion(cmd.promotionId, env.id) : null;
    if (existing && (existing.status === 'succeeded' || existing.status === 'failed'))
      return (await this.deploys.find(existing.id))!;
    const deploy =
      existing ??
      (await this.deploys.create({
        environmentId: env.id,
        promotionId: cmd.promotionId ?? null,
        kind: cmd.kind,
        repository: cmd.repository,
        digest: cmd.digest,
        byLogin: cmd.by,
        reason: 'waiting for the deploy before it in this environment',
      }));
    if (!existing) await this.tell(deploy.id, 'queued');
    return this.deploys.withEnvironmentLock(env.id, () => this.run(deploy, env, cmd));
  }

  private async run(deploy: Deploy, env: EnvironmentWithTargets, cmd: DeployCommand): Promise<DeployOutcome> {
    const log = new BuildLogWriter(this.deploys, deploy.id, await this.deploys.lastLogSeq(deploy.id));
    const project = env.project;
    const slug = `${project.owner}/${project.name}`;
    const where = `${slug} ${env.stage.name}`;
    await this.deploys.update(deploy.id, { status: 'running', startedAt: new Date(), reason: null });
    await this.tell(deploy.id, 'running');
    log.line(
      'deploy',
      `${cmd.kind} ${short(cmd.digest)} to ${where}: ${env.targets.length} host(s), ${env.parallel ? 'all at once' : 'one at a time'}`,
    );
    const rollouts: { target: Target; rollout: HostRollout; state?: HostState }[] = [];
    let reason: string | null = null;
    let rolledBack = false;
    try {
      if (!env.targets.length) throw new Error(`${where} has no hosts`);
      const service = serviceShape(cmd.service);
      const values = await this.values.resolve(env.id);
      const missing = service.env.filter((name) => !(name in values.env));
      if (missing.length)
        throw new Error(`${where} lacks required variable(s) ${missing.join(', ')} (set them on the environment)`);
      const previous = (await this.deploys.lastSucceeded(env.id))?.digest ?? null;
      await this.deploys.update(deploy.id, { previousDigest: previous });
      const registryHost = this.config.registry.engineHost;
      const image = `${registryHost}/${cmd.repository}@${cmd.digest}`;
      const key = env.id.slice(0, 8);
      const base = `dk-${slugify(project.name)}-${slugify(env.stage.name)}-${key}`;
      for (const target of env.targets) {
        const engine = new TargetEngine(target.name, await this.connector.endpoint(target));
        rollouts.push({
          target,
          rollout: new HostRollout(
            engine,
            {
              image,
              auth: {
                username: this.config.registry.username,
                password: this.config.registry.password,
                serveraddress: registryHost,
              },
              service,
              env: values.env,
              replicas: env.replicas,
              environmentLabels: {
                'dev.dockyard.environment': env.id,
                'dev.dockyard.project': slug,
                'dev.dockyard.stage': env.stage.name,
              },
              releaseLabels: {
                'dev.dockyard.digest': cmd.digest,
                'dev.dockyard.deploy': deploy.id,
                'dev.dockyard.config': values.fingerprint,
              },
              network: `${base}-net`,
              proxyName: `${base}-proxy`,
              containerPrefix: base,
              proxy: {
                image: this.config.deploy.proxyImage ?? localProxyImage(),
                bind: target.proxyBind,
                port: target.proxyPort,
              },
            },
            (text) => log.line(`host:${target.name}`, text),
          ),
        });
      }
      const deployHost = (r: (typeof rollouts)[number]) => this.deployHost(deploy.id, r, log);
      if (env.parallel) await allSettledOrThrow(rollouts.map(deployHost));
      else for (const r of rollouts) await deployHost(r);

      await this.deploys.update(deploy.id, { status: 'verifying' });
      await this.tell(deploy.id, 'verifying');
      await this.soak(deploy.id, env.soakMs, rollouts, log);
      for (const suite of cmd.verify ?? []) {
        for (const r of rollouts) await this.verify(deploy.id, suite, r, image, log);
      }
      for (const r of rollouts) await r.rollout.removeAll(r.state!.previous.map((c) => c.id));
    } catch (err) {
      reason = (err as Error).message;
      log.line('deploy', `failed: ${reason}`);
      rolledBack = await this.rollBack(deploy.id, rollouts, log);
    }
    const ok = reason === null;
    await this.deploys.finish(deploy.id, ok ? 'succeeded' : 'failed', { reason, rolledBack });
    await this.tell(deploy.id, ok ? 'succeeded' : 'failed');
    await this.audit.record({
      actor: cmd.by,
      channel: 'system',
      action: ok ? 'deploy.succeeded' : rolledBack ? 'deploy.rolled_back' : 'deploy.failed',
      projectId: env.projectId,
      subject: deploy.id,
      detail: {
        stage: env.stage.name,
        digest: cmd.digest,
        kind: cmd.kind,
        promotionId: cmd.promotionId ?? null,
        reason,
        rolledBack,
      },
    });
    log.line(
      'deploy',
      ok
        ? `${short(cmd.digest)} is live in ${where}`
        : rolledBack
          ? `every switched host is back on what it ran before`
          : 'nothing was switched',
    );
    await log.flush();
    return (await this.deploys.find(deploy.id))!;
  }

  private async deployHost(
    deployId: string,
    r: { target: Target; rollout: HostRollout; state?: HostState },
    log: BuildLogWriter,
  ) {
    const { rollout, target } = r;
    const step = async <T>(name: string, fn: () => Promise<T>, detail?: (t: T) => string | null): Promise<T> => {
      // The step's row is written while its work starts (the host does not wait on Postgres); its end
      // is recorded before the next step begins.
      const row = this.deploys.addStep({ deployId, name, targetId: target.id, status: 'running' });
      row.catch(() => undefined); // awaited below; a failure to record it surfaces there
      let out: T;
      try {
        out = await fn();
      } catch (err) {
        await this.deploys.updateStep((await row).id, { status: 'failed', detail: (err as Error).message });
        throw err;
      }
      await this.deploys.updateStep((await row).id, { status: 'passed', detail: detail?.(out) ?? null });
      return out;
    };
    const stream = `host:${target.name}`;
    r.state = await step(
      'prepare',
      () => rollout.prepare(),
      (s) => `${s.previous.length} container(s) running now`,
    );
    const state = r.state;
    await step(
      'pull',
      () => rollout.pull(),
      (pulled) => (pulled ? 'pulled' : 'already on the host'),
    );
    try {
      await step('start', () => rollout.start(state, deployId));
      await step('healthy', () => rollout.healthy(state.started, rollout.healthTimeout()));
    } catch (err) {
      // The old containers never stopped serving; the new ones go.
      await rollout.removeAll(state.started).catch(() => undefined);
      state.started = [];
      throw err;
    }
    await step('switch', async () => {
      await rollout.route(state, state.started);
      state.switched = true;
    });
    log.line(stream, `traffic goes to the new container(s)`);
    await step('drain', () => rollout.drainAndStop(state.previous.map((c) => c.id)));
  }

  /** The health check must hold on every host for the soak period. */
  private async soak(
    deployId: string,
    soakMs: number,
    rollouts: { rollout: HostRollout; state?: HostState }[],
    log: BuildLogWriter,
  ) {
    const s = await this.deploys.addStep({ deployId, name: 'soak', status: 'running', detail: `${soakMs} ms` });
    log.line('deploy', `soak: the health check must hold for ${soakMs} ms`);
    const end = Date.now() + soakMs;
    for (;;) {
      for (const r of rollouts) {
        const why = await r.rollout.stillHealthy(r.state!.started);
        if (why) {
          await this.deploys.updateStep(s.id, { status: 'failed', detail: why });
          throw new Error(`soak: ${why}`);
        }
      }
      if (Date.now() >= end) break;
      await new Promise((res) => setTimeout(res, Math.min(500, Math.max(0, end - Date.now()))));
    }
    await this.deploys.updateStep(s.id, { status: 'passed' });
  }

  /** A verify suite in a container on the host, against the environment's URL there (through its proxy). */
  private async verify(
    deployId: string,
    suite: PipelineVerify,
    r: { target: Target; rollout: HostRollout; state?: HostState },
    image: string,
    log: BuildLogWriter,
  ) {
    const stream = `verify:${suite.name}`;
    const s = await this.deploys.addStep({ deployId, name: stream, targetId: r.target.id, status: 'running' });
    const engine = r.rollout.engine;
    const labels = r.rollout.labels;
    const url = `http://${await r.rollout.address(r.state!.proxy.edge)}:80`;
    const suiteImage = suite.image ?? image;
    if (suite.image) await engine.pull(suiteImage, { serveraddress: suiteImage.split('/')[0] }, 10 * 60_000);
    const timeout = suite.timeout ?? this.config.test.timeout;
    log.line(stream, `on ${r.target.name}: ${suite.run} (SERVICE_URL=${url})`);
    const result = await engine.runToEnd(
      {
        Image: suiteImage,
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: [suite.run],
        Env: [`SERVICE_URL=${url}`],
        Labels: { ...labels, 'dev.dockyard.role': 'verify', 'dev.dockyard.deploy': deployId },
        HostConfig: {
          NetworkMode: r.rollout.network,
          Memory: this.config.test.memory,
          NanoCpus: Math.round(this.config.test.cpus * 1e9),
          PidsLimit: this.config.test.pids,
        },
      },
      timeout,
      (text) => log.write(stream, text),
    );
    if (result.exitCode === 0) {
      await this.deploys.updateStep(s.id, { status: 'passed' });
      return;
    }
    const why = result.timedOut ? `timed out after ${timeout} ms` : `exit code ${result.exitCode}`;
    await this.deploys.updateStep(s.id, { status: 'failed', detail: why });
    throw new Error(`verify suite ${suite.name} failed on ${r.target.name}: ${why}`);
  }

  /** Every host that took the new release goes back to its previous containers. */
  private async rollBack(
    deployId: string,
    rollouts: { target: Target; rollout: HostRollout; state?: HostState }[],
    log: BuildLogWriter,
  ) {
    const touched = rollouts.filter((r) => r.state && (r.state.switched || r.state.started.length));
    if (!touched.length) return false;
    let all = true;
    for (const r of touched.reverse()) {
      const s = await this.deploys.addStep({ deployId, name: 'rollback', targetId: r.target.id, status: 'running' });
      try {
        await r.rollout.revert(r.state!);
        await this.deploys.updateStep(s.id, { status: 'passed' });
        log.line(`host:${r.target.name}`, 'rolled back to the previous container(s)');
      } catch (err) {
        all = false;
        await this.deploys.updateStep(s.id, { status: 'failed', detail: (err as Error).message });
        log.line(`host:${r.target.name}`, `rollback failed: ${(err as Error).message}`);
        this.logger.error(`deploy ${deployId}: rollback on ${r.target.name} failed: ${(err as Error).message}`);
      }
    }
    return all;
  }
}

function slugify(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 24) || 'x'
  );
}

async function allSettledOrThrow(work: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
