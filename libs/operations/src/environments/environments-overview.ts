import { Injectable } from '@nestjs/common';
import {
  DeployRepository,
  DeployWithSteps,
  EnvironmentRepository,
  EnvironmentVariableRepository,
  HostStatusRepository,
  PromotionRepository,
  SecretRepository,
  SignOffRepository,
} from '@dockyard/db';
import { EnvironmentLookup } from './environment-lookup';

export interface HostView {
  name: string;
  kind: string;
  address: string;
  proxyPort: number;
  /** in_sync / drifted / down as the drift reconciler last saw it; unknown before its first look. */
  state: 'in_sync' | 'drifted' | 'down' | 'unknown';
  healthy: boolean | null;
  runningDigest: string | null;
  detail: string | null;
  checkedAt: Date | null;
}

export interface DeployView {
  id: string;
  kind: string;
  status: string;
  digest: string;
  reason: string | null;
  rolledBack: boolean;
  by: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** In order; `host` names the host a step ran on (null: the whole environment, as soak and verify). */
  steps: { name: string; host: string | null; status: string; detail: string | null }[];
  logs: string;
}

export interface StageEnvironmentView {
  stage: string;
  /** The digest the stage's Release records. */
  digest: string | null;
  commit: string | null;
  /** Each tester's latest sign-off of the digest the stage holds. */
  signoffs: { by: string; result: string; comment: string | null; at: Date }[];
  environment: null | {
    url: string | null;
    replicas: number;
    parallel: boolean;
    soakMs: number;
    hosts: HostView[];
    variables: { name: string; value: string }[];
    /** Names only: values are write-only. */
    secrets: string[];
    /** The deploy running (or queued) now, if any. */
    deploying: DeployView | null;
    lastDeploy: DeployView | null;
  };
}

/** Each stage of a project with its environment: hosts and their health, what runs vs what is recorded, deploys. */
@Injectable()
export class EnvironmentsOverview {
  constructor(
    private readonly lookup: EnvironmentLookup,
    private readonly promotions: PromotionRepository,
    private readonly environments: EnvironmentRepository,
    private readonly deploys: DeployRepository,
    private readonly variables: EnvironmentVariableRepository,
    private readonly secrets: SecretRepository,
    private readonly hosts: HostStatusRepository,
    private readonly signoffs: SignOffRepository,
  ) {}

  async execute(owner: string, name: string): Promise<StageEnvironmentView[]> {
    const project = await this.lookup.project(owner, name);
    const [stages, environments] = await Promise.all([
      this.promotions.stages(project.id),
      this.environments.list(project.id),
    ]);
    const seen = await this.hosts.forTargets(environments.flatMap((e) => e.targets.map((t) => t.id)));
    return Promise.all(
      stages
        .filter((s) => s.position >= 0)
        .map(async (stage): Promise<StageEnvironmentView> => {
          const release = stage.releases[0];
          const env = environments.find((e) => e.stageId === stage.id);
          const view: StageEnvironmentView = {
            stage: stage.name,
            digest: release?.digest ?? null,
            commit: release?.image.sha ?? null,
            signoffs: release
              ? (await this.signoffs.latest(project.id, stage.name, release.digest)).map((o) => ({
                  by: o.login,
                  result: o.result,
                  comment: o.comment,
                  at: o.createdAt,
                }))
              : [],
            environment: null,
          };
          if (!env) return view;
          const [active, recent, variables, secrets] = await Promise.all([
            this.deploys.active(env.id),
            this.deploys.recent(env.id, 1),
            this.variables.list(env.id),
            this.secrets.list({ projectId: project.id, stage: stage.name }),
          ]);
          const deploying = active[0] ? await this.deploys.find(active[0].id) : null;
          view.environment = {
            url: env.url,
            replicas: env.replicas,
            parallel: env.parallel,
            soakMs: env.soakMs,
            hosts: env.targets.map((t) => {
              const s = seen.find((h) => h.targetId === t.id);
              return {
                name: t.name,
                kind: t.kind,
                address: t.address,
                proxyPort: t.proxyPort,
                state: s?.state ?? 'unknown',
                healthy: s?.healthy ?? null,
                runningDigest: s?.runningDigest ?? null,
                detail: s?.detail ?? null,
                checkedAt: s?.checkedAt ?? null,
              };
            }),
            variables: variables.map((v) => ({ name: v.name, value: v.value })),
            secrets: secrets.map((s) => s.name),
            deploying: deploying ? await this.deployView(deploying) : null,
            lastDeploy: recent[0] ? await this.deployView(recent[0]) : null,
          };
          return view;
        }),
    );
  }

  /** A deploy with its steps and the start of its log. */
  async deployView(d: DeployWithSteps, withLog = true): Promise<DeployView> {
    const logs = withLog ? await this.deploys.logsAfter(d.id, 0, 500) : [];
    return {
      id: d.id,
      kind: d.kind,
      status: d.status,
      digest: d.digest,
      reason: d.reason,
      rolledBack: d.rolledBack,
      by: d.byLogin,
      startedAt: d.startedAt,
      finishedAt: d.finishedAt,
      steps: d.steps.map((s) => ({ name: s.name, host: s.target?.name ?? null, status: s.status, detail: s.detail })),
      logs: logs.map((l) => l.text).join(''),
    };
  }
}
