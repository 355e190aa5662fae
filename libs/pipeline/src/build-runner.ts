import { randomUUID } from 'node:crypto';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { BuildRepository, BuildWithProject, ReleaseRepository } from '@dockyard/db';
import { BuildKitCli, DockerEngine, ImageBuildError, LABELS } from '@dockyard/docker';
import { BuildEvents } from '@dockyard/events';
import { GitSource, SourceUnavailableError, redactUrl } from '@dockyard/git';
import { Metrics } from '@dockyard/observability';
import { RegistryClient } from '@dockyard/registry';
import { SecretsStore } from '@dockyard/secrets';
import { BuildLogWriter } from './build-log';
import { PIPELINE_FILE, PipelineConfig, PipelineFileError, parsePipelineFile } from './pipeline-file';
import { StatusPublisher } from './status-publisher';
import { TestSuite } from './test-suite';
import { ProjectPolicies } from './promotion/project-policies';
import type { ProjectRules, StageRules } from './promotion/project-policy';
import { EnterFirstStage } from './promotion/use-cases/enter-first-stage';

/** A failure that another attempt cannot fix: the build fails with this reason. */
class BuildFailure extends Error {}

const CANCEL_POLL_MS = 1_000;
/** Which worker process ran an attempt, in the build's log. */
const WORKER = `${hostname()}/${process.pid}`;

/** Why an attempt stopped before its end; each says what happens to the build. */
type StopReason = 'cancelled' | 'lease lost' | 'handed back';

export interface Attempt {
  /** 1 for the first attempt. */
  number: number;
  max: number;
}

/**
 * One build, start to end: source at the exact commit, the pipeline file, the image built through
 * the Docker Engine and pushed, the tests run in containers from that digest, and on success the
 * digest written into the first stage. Postgres is told every step; GitHub hears through statuses.
 */
@Injectable()
export class BuildRunner {
  private readonly logger = new Logger(BuildRunner.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly builds: BuildRepository,
    private readonly releases: ReleaseRepository,
    private readonly git: GitSource,
    private readonly docker: DockerEngine,
    private readonly builder: BuildKitCli,
    private readonly registry: RegistryClient,
    private readonly statuses: StatusPublisher,
    private readonly metrics: Metrics,
    private readonly tests: TestSuite,
    private readonly policies: ProjectPolicies,
    private readonly enterFirstStage: EnterFirstStage,
    private readonly buildEvents: BuildEvents,
    private readonly secrets: SecretsStore,
  ) {}

  /**
   * Run one attempt of a build. The attempt holds the build by a lease that a heartbeat renews: a
   * re-delivered job of a build whose worker died takes it over (after removing the dead attempt's
   * containers), and `signal` firing (the worker shutting down) hands the build back to the queue.
   */
  async run(buildId: string, attempt: Attempt, signal?: AbortSignal): Promise<string> {
    const build = await this.builds.find(buildId);
    if (!build) throw new UnrecoverableError(`build ${buildId} does not exist`);
    const token = randomUUID();
    const number = await this.claim(buildId, token);
    if (number === null) return `not started: the build is ${await this.builds.status(buildId)}`;
    const started = Date.now();
    const log = new BuildLogWriter(this.builds, buildId, await this.builds.lastLogSeq(buildId));
    const abort = new AbortController();
    let stop: StopReason | null = null;
    const halt = (why: StopReason) => {
      if (abort.signal.aborted) return;
      stop = why;
      abort.abort();
    };
    const onHandBack = () => halt('handed back');
    if (signal?.aborted) onHandBack();
    signal?.addEventListener('abort', onHandBack, { once: true });
    const watcher = this.heartbeat(buildId, token, halt);
    log.line('system', `attempt ${number} on worker ${WORKER} (engine ${this.config.docker.host})`);
    if (build.status === 'running') {
      log.line('system', `attempt ${number}: the worker of the last attempt was lost; taking the build over`);
      await this.removeContainersOf(buildId, token, log);
    }
    // Told while the source is fetched; settled before the build's end is told, so build.started comes first.
    const announced = Promise.all([
      this.statuses.announce(buildId, 'build', 'running'),
      this.buildEvents.started(buildId),
    ]).then(
      () => null,
      (err: Error) => err,
    );
    try {
      const outcome = await this.steps(build, token, log, abort.signal);
      const unannounced = await announced;
      if (unannounced) throw unannounced;
      if (await this.builds.finish(buildId, outcome.status, outcome.reason, token)) {
        log.line('system', `build ${outcome.status}${outcome.reason ? `: ${outcome.reason}` : ''}`);
        this.metrics.buildsFinished.inc({ status: outcome.status });
        this.metrics.buildDuration.observe((Date.now() - started) / 1000);
        await this.buildEvents.finished(buildId, outcome.status, outcome.reason);
      }
      return outcome.status;
    } catch (err) {
      await announced;
      const message = (err as Error).message || String(err);
      if (stop === 'handed back') {
        await this.builds.requeue(buildId, 'handed back: the worker shut down', { token });
        log.line('system', 'the worker is shutting down: the build goes back to the queue for the next worker');
        return 'handed back';
      }
      if (stop) {
        log.line('system', `stopped: the build is ${await this.builds.status(buildId)}`);
        return 'stopped';
      }
      const permanent = err instanceof BuildFailure || err instanceof SourceUnavailableError;
      if (permanent || attempt.number >= attempt.max) {
        const status = permanent ? 'failed' : 'error';
        log.line('system', `build ${status}: ${message}`);
        if (await this.builds.finish(buildId, status, message, token)) {
          this.metrics.buildsFinished.inc({ status });
          await this.buildEvents.finished(buildId, status, message);
        }
        throw new UnrecoverableError(message);
      }
      log.line('system', `attempt ${attempt.number} of ${attempt.max} hit a transient error, will retry: ${message}`);
      await this.builds.requeue(buildId, `retrying after: ${message}`, { token });
      throw err;
    } finally {
      clearInterval(watcher);
      signal?.removeEventListener('abort', onHandBack);
      await log.flush();
      await this.statuses.announce(buildId, 'build', 'done');
      await this.statuses.announce(buildId, 'test', 'done');
    }
  }

  /**
   * Claim the build for this attempt. A build another attempt still holds is waited for while that
   * lease may run out (a job re-delivered a little before its dead worker's lease ended); a build
   * that a live worker keeps renewing is left to it.
   */
  private async claim(buildId: string, token: string): Promise<number | null> {
    const lease = this.config.worker.lease;
    const deadline = Date.now() + lease + CANCEL_POLL_MS;
    for (;;) {
      const number = await this.builds.claim(buildId, token, lease);
      if (number !== null) return number;
      if ((await this.builds.status(buildId)) !== 'running' || Date.now() > deadline) return null;
      await new Promise((resolve) => setTimeout(resolve, CANCEL_POLL_MS));
    }
  }

  /** Containers of earlier attempts of this build on this worker's engine: their worker is gone. */
  private async removeContainersOf(buildId: string, token: string, log: BuildLogWriter): Promise<void> {
    try {
      for (const c of await this.docker.containers({ [LABELS.build]: buildId })) {
        // A promotion's test container carries its image's build label too: not this build's to remove.
        if (c.labels[LABELS.attempt] === token || c.labels[LABELS.promotion]) continue;
        await this.docker.removeContainer(c.id);
        log.line('system', `removed container ${c.id.slice(0, 12)} of an earlier attempt`);
      }
    } catch (err) {
      // The watchdog's sweep removes them later.
      this.logger.warn(`build ${buildId}: could not remove earlier containers: ${(err as Error).message}`);
    }
  }

  private async steps(
    build: BuildWithProject,
    token: string,
    log: BuildLogWriter,
    signal: AbortSignal,
  ): Promise<{ status: 'passed' | 'failed'; reason: string | null }> {
    const { project, sha } = build;
    log.line('system', `fetching ${sha} from ${redactUrl(project.cloneUrl)}`);
    const mirror = await this.git.fetch(project, sha, build.ref, build.createdAt, signal).catch((err) => {
      throw err instanceof SourceUnavailableError ? new BuildFailure(err.message) : err;
    });

    const pipeline = await this.readPipeline(mirror, build, log);
    const rules = await this.rulesFor(build, pipeline, log);
    const ref = this.registry.engineRef(pipeline.image);
    const tag = `${ref}:sha-${sha.slice(0, 12)}`;
    const contextDir = await mkdtemp(path.join(tmpdir(), 'dockyard-context-'));
    // The context is unpacked while the database answers; settled (never rejected) before the folder goes.
    const exported = this.git.export(mirror, sha, pipeline.build.context, contextDir, signal).then(
      () => null,
      (err: Error) => err,
    );
    try {
      const [cacheFrom, secrets] = await Promise.all([
        this.cacheSources(build, ref, rules.stages[0]),
        this.buildSecrets(build, log),
      ]);
      const unexported = await exported;
      if (unexported) throw unexported;
      await this.checkDockerfile(contextDir, pipeline, sha);
      log.line(
        'system',
        `building ${tag} with BuildKit${cacheFrom.length ? ` (cache from ${cacheFrom.join(', ')})` : ''}`,
      );
      await this.builder.build({
        contextDir,
        dockerfile: pipeline.build.dockerfile,
        tags: [tag],
        target: pipeline.build.target,
        buildArgs: pipeline.build.args,
        labels: {
          'org.opencontainers.image.revision': sha,
          'org.opencontainers.image.source': redactUrl(project.cloneUrl),
          'org.opencontainers.image.created': new Date().toISOString(),
          [LABELS.build]: build.id,
        },
        network: this.config.build.network && project.buildNetwork,
        secrets,
        cacheFrom,
        timeoutMs: this.config.build.timeout,
        signal,
        onOutput: (text) => log.write('build', text),
      });
    } catch (err) {
      if (err instanceof ImageBuildError) throw new BuildFailure(`docker build failed: ${err.message}`);
      if (err instanceof SourceUnavailableError) throw new BuildFailure(err.message);
      throw err;
    } finally {
      await exported;
      await rm(contextDir, { recursive: true, force: true });
    }

    log.line('system', `pushing ${tag}`);
    const { digest } = await this.docker.push(
      tag,
      this.registry.engineAuth(),
      (text) => log.write('push', text),
      signal,
    );
    // The image is recorded while its tests run: they need only the digest.
    const recorded = this.recordImage(build, pipeline.image, digest, log).then(
      (image) => ({ image }),
      (err: Error) => ({ err }),
    );
    const failure = await this.tests.run({
      image: `${ref}@${digest}`,
      tests: pipeline.test,
      recorder: {
        create: (tests) => this.builds.createTestRuns(build.id, tests),
        update: (id, data) => this.builds.updateTestRun(id, data),
      },
      labels: { [LABELS.build]: build.id, [LABELS.attempt]: token },
      onOutput: (stream, text) => log.write(stream, text),
      signal,
    });
    const result = await recorded;
    if ('err' in result) throw result.err;
    const { image } = result;
    if (failure) return { status: 'failed', reason: failure };
    if (build.pullRequest !== null) {
      log.line(
        'system',
        `pull request #${build.pullRequest} built and tested; pull request builds never enter a stage`,
      );
      return { status: 'passed', reason: null };
    }

    const first = rules.stages[0].name;
    const entry = await this.enterFirstStage.execute({ build, image, rules });
    if (!entry) log.line('system', `stage ${first} is not automatic: the image waits for a promotion`);
    else if (entry.status === 'promoted') log.line('system', `${pipeline.image}:${first} is now ${digest}`);
    else log.line('system', `entering ${first}: ${entry.status}${entry.reason ? ` (${entry.reason})` : ''}`);
    return { status: 'passed', reason: null };
  }

  /**
   * The Dockerfile must be a file of the unpacked context: the docker CLI reads it from this host's
   * disk, so a path (or a symlinked folder) that climbs out of the context would hand it a host file.
   */
  private async checkDockerfile(contextDir: string, pipeline: PipelineConfig, sha: string): Promise<void> {
    const { context, dockerfile } = pipeline.build;
    const root = await realpath(contextDir);
    const file = path.resolve(root, dockerfile);
    const real = await realpath(file).catch(() => null);
    const inside = (p: string) => p.startsWith(`${root}${path.sep}`);
    if (!inside(file) || (real !== null && !inside(real))) {
      throw new BuildFailure(`build.dockerfile ${dockerfile} is outside the build context ${context}`);
    }
    if (real === null) {
      throw new BuildFailure(`${path.posix.join(context, dockerfile)} does not exist at ${sha.slice(0, 12)}`);
    }
  }

  /** The pushed image as Dockyard keeps it (its size from the registry), linked to the build. */
  private async recordImage(build: BuildWithProject, repository: string, digest: string, log: BuildLogWriter) {
    const sizeBytes = await this.registry.imageSize(repository, digest);
    const image = await this.releases.upsertImage({
      projectId: build.project.id,
      repository,
      digest,
      sizeBytes,
      sha: build.sha,
    });
    await this.builds.update(build.id, { imageId: image.id });
    log.line('system', `pushed ${repository}@${digest} (${sizeBytes} bytes)`);
    await this.statuses.announce(build.id, 'build', 'built');
    return image;
  }

  private async readPipeline(mirror: string, build: BuildWithProject, log: BuildLogWriter): Promise<PipelineConfig> {
    const text = await this.git.readFile(mirror, build.sha, PIPELINE_FILE);
    let pipeline: PipelineConfig;
    try {
      pipeline = await parsePipelineFile(text, this.policies.namespaceOf(build.project));
    } catch (err) {
      if (err instanceof PipelineFileError) {
        for (const problem of err.problems) log.line('system', `${PIPELINE_FILE}: ${problem}`);
        throw new BuildFailure(err.message);
      }
      throw err;
    }
    if (!build.project.testOptOuts) {
      const optOuts = [...pipeline.test, ...pipeline.stages.flatMap((s) => s.test ?? [])].filter(
        (t) => t.user !== undefined || !t.readOnly,
      );
      if (optOuts.length) {
        throw new BuildFailure(
          `${PIPELINE_FILE}: this project does not allow tests out of their confinement (user:, readOnly: false): ${optOuts.map((t) => t.name).join(', ')}`,
        );
      }
    }
    if (!pipeline.fromFile) {
      log.line('system', `no ${PIPELINE_FILE}: building Dockerfile at the root, no tests, stages dev → test → prod`);
    } else if (!pipeline.test.length) {
      log.line('system', `${PIPELINE_FILE} lists no tests`);
    }
    await this.builds.update(build.id, { config: pipeline as object, imageRepo: pipeline.image });
    return pipeline;
  }

  /**
   * Every second: is the build still ours to run (a cancel or a newer push ends it elsewhere)? Every
   * third of the lease: renew it; a lease that cannot be renewed was taken over, so this attempt stops.
   */
  private heartbeat(buildId: string, token: string, halt: (why: StopReason) => void): NodeJS.Timeout {
    const lease = this.config.worker.lease;
    let renewedAt = Date.now();
    let busy = false;
    return setInterval(
      () => {
        if (busy) return;
        busy = true;
        const renew = Date.now() - renewedAt >= lease / 3;
        const beat = renew
          ? this.builds.renewLease(buildId, token, lease).then(async (held) => {
              if (held) renewedAt = Date.now();
              else halt((await this.builds.status(buildId)) === 'running' ? 'lease lost' : 'cancelled');
            })
          : this.builds.status(buildId).then((status) => {
              if (status && status !== 'running') halt('cancelled');
            });
        beat
          .catch((err: Error) => this.logger.warn(`heartbeat of build ${buildId}: ${err.message}`))
          .finally(() => (busy = false));
      },
      Math.min(CANCEL_POLL_MS, lease / 3),
    );
  }

  /**
   * The project's policy (held by Dockyard) with what the file adds. A file that tries to weaken or
   * reshape the gates, or to write outside the project's registry namespace, fails its own build
   * before anything is built or pushed.
   */
  private async rulesFor(
    build: BuildWithProject,
    pipeline: PipelineConfig,
    log: BuildLogWriter,
  ): Promise<ProjectRules> {
    const { rules, problems, notes, version } = await this.policies.forFile(build.project, pipeline);
    for (const note of notes) log.line('system', `${PIPELINE_FILE}: ${note}`);
    if (problems.length) {
      for (const problem of problems) log.line('system', `${PIPELINE_FILE}: ${problem}`);
      throw new BuildFailure(
        `${PIPELINE_FILE} may only add checks to the project's policy (version ${version}): ${problems.join('; ')}`,
      );
    }
    return rules;
  }

  /** The project's secrets for `RUN --mount=type=secret`; a pull request from a fork gets none. */
  private async buildSecrets(build: BuildWithProject, log: BuildLogWriter): Promise<Record<string, string>> {
    if (build.fromFork) {
      log.line('system', `pull request #${build.pullRequest} comes from a fork: the build gets no secrets`);
      return {};
    }
    return this.secrets.values(build.projectId);
  }

  /** The branch's last image and the first stage's: their inline cache serves this build on any engine. */
  private async cacheSources(build: BuildWithProject, ref: string, first: StageRules): Promise<string[]> {
    const last = await this.builds.lastImage(build.projectId, build.branch ?? build.project.defaultBranch);
    const sources = last ? [`${this.registry.engineRef(last.repository)}@${last.digest}`] : [];
    sources.push(`${first.repository ? this.registry.engineRef(first.repository) : ref}:${first.name}`);
    return sources;
  }
}
