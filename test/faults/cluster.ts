import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { Client } from 'pg';
import { DockerEngine, LABELS } from '@dockyard/docker';
import { WEBHOOK_SECRET, deliver, eventually, pushPayload, registerProject } from '../support/app';
import { DockerHost, startDockerHost } from '../support/docker-host';
import { GitRepo, SCRATCH_DOCKERFILE } from '../support/git-repo';
import { OwnPostgres, OwnRedis, OwnRegistry } from '../support/own-services';
import { DockyardProcess, adminToken, assertBuilt } from '../support/processes';

/** How long every build and promotion has, after the fault is over, to reach a final state. */
export const SETTLE_MS = 150_000;

/**
 * A whole Dockyard of the fault suite's own: its own PostgreSQL, Redis and registry (which the
 * suite stops and kills), an api process, worker processes (SIGKILLed), and an extra Docker Engine
 * on bridge dk4br (killed). Only the shared Docker Engine is shared, and only containers carrying
 * this cluster's instance label are looked at there.
 */
export class Cluster {
  readonly pg = new OwnPostgres();
  readonly redis = new OwnRedis();
  readonly registry = new OwnRegistry();
  engine!: DockerHost;
  api!: DockyardProcess;
  readonly workers: DockyardProcess[] = [];
  env: Record<string, string> = {};
  token = '';
  private readonly caches: string[] = [];
  private readonly repos: GitRepo[] = [];

  async start(): Promise<void> {
    assertBuilt();
    await Promise.all([this.pg.start(), this.redis.start(), this.registry.start()]);
    this.engine = await startDockerHost({ name: 'rec-faults', bridge: 'dk4br', subnet: '172.29.0.1/16' });
    this.env = {
      DATABASE_URL: await this.pg.migratedDatabase(),
      REDIS_URL: this.redis.url,
      REGISTRY_URL: this.registry.url,
      QUEUE_PREFIX: `f${randomBytes(4).toString('hex')}`,
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      LOG_LEVEL: 'info',
      WORKER_CONCURRENCY: '2',
      WORKER_LEASE: '5s',
      RECONCILE_INTERVAL: '2s',
      SHUTDOWN_GRACE: '2s',
      TEST_TIMEOUT: '60s',
    };
    this.api = await new DockyardProcess('api', this.env).start();
    this.token = adminToken(this.env);
  }

  /** A worker on the shared engine, or on the cluster's extra one; each with its own git cache. */
  async worker(on: 'shared' | 'extra' = 'shared'): Promise<DockyardProcess> {
    const cache = mkdtempSync(path.join(tmpdir(), 'dockyard-git-'));
    this.caches.push(cache);
    const host = on === 'shared' ? process.env.DOCKER_HOST! : this.engine.socket;
    const worker = await new DockyardProcess('worker', {
      ...this.env,
      DOCKER_HOST: host,
      GIT_CACHE_DIR: cache,
    }).start();
    this.workers.push(worker);
    return worker;
  }

  async stop(): Promise<void> {
    for (const p of [this.api, ...this.workers]) await p?.remove();
    await this.engine?.destroy();
    for (const s of [this.pg, this.redis, this.registry]) await s.remove();
    for (const c of this.caches) rmSync(c, { recursive: true, force: true });
    for (const r of this.repos) r.remove();
  }

  auth(): Record<string, string> {
    return { Authorization: `Bearer ${this.token}` };
  }

  /** A project whose tests take `testSeconds`; its stages are dev (auto) and test (with a stage test). */
  async project(testSeconds: number, stageTestSeconds = 3): Promise<Project> {
    const repo = new GitRepo();
    this.repos.push(repo);
    const owner = `fault${randomBytes(3).toString('hex')}`;
    await registerProject(this.api.url, this.token, owner, 'web', repo.cloneUrl);
    return new Project(this, repo, owner, testSeconds, stageTestSeconds);
  }

  async sql<T = Record<string, unknown>>(query: string, values: unknown[] = []): Promise<T[]> {
    const c = new Client({ connectionString: this.env.DATABASE_URL });
    await c.connect();
    try {
      return (await c.query(query, values)).rows as T[];
    } finally {
      await c.end();
    }
  }

  /** This cluster's containers on both engines (by its instance label: nobody else's). */
  async containers(): Promise<string[]> {
    const instance = DockerEngine.instanceOf({
      databaseUrl: this.env.DATABASE_URL,
      queuePrefix: this.env.QUEUE_PREFIX,
    });
    const filters = { label: [`${LABELS.instance}=${instance}`] };
    const engines = [new Docker(DockerEngine.connection(process.env.DOCKER_HOST!)), this.engine.client()];
    const lists = await Promise.all(engines.map((d) => d.listContainers({ all: true, filters }).catch(() => [])));
    return lists.flat().map((c) => c.Id);
  }

  /** Running containers of this cluster's builds on the extra engine. */
  async testsOnExtraEngine(): Promise<number> {
    const instance = DockerEngine.instanceOf({
      databaseUrl: this.env.DATABASE_URL,
      queuePrefix: this.env.QUEUE_PREFIX,
    });
    const running = await this.engine
      .client()
      .listContainers({ filters: { label: [`${LABELS.instance}=${instance}`, LABELS.test] } })
      .catch(() => []);
    return running.length;
  }

  /**
   * What every fault case must leave: every build and promotion final within SETTLE_MS, none ran
   * to its end twice, no row running, no container behind, and every stage's tag equal to its record.
   */
  async assertSettled(): Promise<{ builds: number; promotions: number; ms: number }> {
    const started = Date.now();
    await eventually(
      async () => {
        const open = await this.sql(
          `select id from "Build" where status in ('queued','running')
           union all select id from "Promotion" where status in ('testing','promoting')`,
        );
        return open.length === 0;
      },
      SETTLE_MS,
      'every build and promotion to reach a final state',
    );
    const ends = await this.sql<{ buildId: string; n: string }>(
      `select "buildId", count(*) as n from "BuildLog"
       where stream = 'system' and text ~ '^build (passed|failed|error)' group by "buildId" having count(*) > 1`,
    );
    if (ends.length) throw new Error(`builds that ran to their end twice: ${JSON.stringify(ends)}`);
    await eventually(async () => (await this.containers()).length === 0, 60_000, 'no container left behind');
    const stages = await this.sql<{ repo: string; stage: string; digest: string }>(
      `select distinct on (s.id) i.repository as repo, s.name as stage, r.digest
       from "Stage" s join "Release" r on r."stageId" = s.id join "Image" i on i.id = r."imageId"
       order by s.id, r."createdAt" desc`,
    );
    for (const s of stages) {
      const res = await fetch(`${this.registry.url}/v2/${s.repo}/manifests/${s.stage}`, {
        method: 'HEAD',
        headers: {
          Accept: [
            'application/vnd.oci.image.manifest.v1+json',
            'application/vnd.docker.distribution.manifest.v2+json',
            'application/vnd.oci.image.index.v1+json',
            'application/vnd.docker.distribution.manifest.list.v2+json',
          ].join(', '),
        },
      });
      if (res.headers.get('docker-content-digest') !== s.digest) {
        throw new Error(
          `${s.repo}:${s.stage} is ${res.headers.get('docker-content-digest')} but its record says ${s.digest}`,
        );
      }
    }
    const [counts] = await this.sql<{ builds: string; promotions: string }>(
      `select (select count(*) from "Build") as builds, (select count(*) from "Promotion") as promotions`,
    );
    return { builds: Number(counts.builds), promotions: Number(counts.promotions), ms: Date.now() - started };
  }
}

export class Project {
  private pushes = 0;

  constructor(
    private readonly cluster: Cluster,
    readonly repo: GitRepo,
    readonly owner: string,
    private readonly testSeconds: number,
    private readonly stageTestSeconds: number,
  ) {}

  get slug(): string {
    return `${this.owner}/web`;
  }

  /**
   * Push a new commit on its own branch, as GitHub delivers it: a 503 (PostgreSQL away) is
   * delivered again, as GitHub's redelivery does. Returns the build id.
   */
  async push(): Promise<string> {
    const n = ++this.pushes;
    const branch = `b${n}`;
    const sha = this.repo.commit(
      {
        Dockerfile: SCRATCH_DOCKERFILE,
        'app/test.sh': `echo push ${n}; sleep ${this.testSeconds}\n`,
        'app/smoke.sh': `sleep ${this.stageTestSeconds}\n`,
        '.dockyard.yml': [
          `image: ${this.slug}`,
          'test:',
          '  - { name: unit, run: sh /app/test.sh }',
          'stages:',
          '  - { name: dev, auto: true }',
          '  - name: test',
          '    test:',
          '      - { name: smoke, run: sh /app/smoke.sh }',
          '',
        ].join('\n'),
      },
      `change ${n}`,
      branch,
    );
    const deliveryId = `${this.owner}-${n}`;
    const res = await eventually(
      async () => {
        const r = await deliver(this.cluster.api.url, pushPayload(this.owner, 'web', sha, branch), {
          deliveryId,
        }).catch(() => null);
        return r && r.status !== 503 && r;
      },
      60_000,
      `delivery ${deliveryId} to be taken`,
    );
    if (res.status !== 202) throw new Error(`push answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.buildId as string;
  }
}
