import path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { BuildRepository, BuildWithProject, ProjectRepository, ReleaseRepository } from '@dockyard/db';
import { DockerEngine, ImageBuildError } from '@dockyard/docker';
import { BuildEvents } from '@dockyard/events';
import { GitSource, SourceUnavailableError, redactUrl } from '@dockyard/git';
import { Metrics } from '@dockyard/observability';
import { RegistryClient } from '@dockyard/registry';
import { BuildLogWriter } from './build-log';
import { PIPELINE_FILE, PipelineConfig, PipelineFileError, parsePipelineFile } from './pipeline-file';
import { StatusPublisher } from './status-publisher';
import { TestSuite } from './test-suite';
import { PromotionService } from './promotion/promotion.service';

/** A failure that another attempt cannot fix: the build fails with this reason. */
class BuildFailure extends Error {}

const CANCEL_POLL_MS = 1_000;

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
    private readonly projects: ProjectRepository,
    private readonly releases: ReleaseRepository,
    private readonly git: GitSource,
    private readonly docker: DockerEngine,
    private readonly registry: RegistryClient,
    private readonly statuses: StatusPublisher,
    private readonly metrics: Metrics,
    private readonly tests: TestSuite,
    private readonly promotions: PromotionService,
    private readonly buildEvents: BuildEvents,
  ) {}

  async run(buildId: string, attempt: Attempt): Promise<string> {
    const build = await this.builds.find(buildId);
    if (!build) throw new UnrecoverableError(`build ${buildId} does not exist`);
    if (!(await this.builds.claim(buildId))) return `not started: the build is ${build.status}`;
    const started = Date.now();
    const log = new BuildLogWriter(this.builds, buildId, await this.builds.lastLogSeq(buildId));
    const abort = new AbortController();
    const watcher = this.watchForCancel(buildId, abort);
    await this.statuses.announce(buildId, 'build', 'running');
    await this.buildEvents.started(buildId);
    try {
      const outcome = await this.steps(build, log, abort.signal);
      if (await this.builds.finish(buildId, outcome.status, outcome.reason)) {
        log.line('system', `build ${outcome.status}${outcome.reason ? `: ${outcome.reason}` : ''}`);
        this.metrics.buildsFinished.inc({ status: outcome.status });
        this.metrics.buildDuration.observe((Date.now() - started) / 1000);
        await this.buildEvents.finished(buildId, outcome.status, outcome.reason);
      }
      return outcome.status;
    } catch (err) {
      const message = (err as Error).message || String(err);
      if (abort.signal.aborted) {
        log.line('system', `stopped: the build is ${await this.builds.status(buildId)}`);
        return 'stopped';
      }
      const permanent = err instanceof BuildFailure || err instanceof SourceUnavailableError;
      if (permanent || attempt.number >= attempt.max) {
        const status = permanent ? 'failed' : 'error';
        log.line('system', `build ${status}: ${message}`);
        if (await this.builds.finish(buildId, status, message)) {
          this.metrics.buildsFinished.inc({ status });
          await this.buildEvents.finished(buildId, status, message);
        }
        throw new UnrecoverableError(message);
      }
      log.line('system', `attempt ${attempt.number} of ${attempt.max} hit a transient error, will retry: ${message}`);
      await this.builds.requeue(buildId, `retrying after: ${message}`);
      throw err;
    } finally {
      clearInterval(watcher);
      await log.flush();
      await this.statuses.announce(buildId, 'build', 'done');
      await this.statuses.announce(buildId, 'test', 'done');
    }
  }

  private async steps(
    build: BuildWithProject,
    log: BuildLogWriter,
    signal: AbortSignal,
  ): Promise<{ status: 'passed' | 'failed'; reason: string | null }> {
    const { project, sha } = build;
    log.line('system', `fetching ${sha} from ${redactUrl(project.cloneUrl)}`);
    const mirror = await this.git.fetch(project, sha).catch((err) => {
      throw err instanceof SourceUnavailableError ? new BuildFailure(err.message) : err;
    });

    const pipeline = await this.readPipeline(mirror, build, log);
    const dockerfile = path.posix.join(pipeline.build.context, pipeline.build.dockerfile);
    if ((await this.git.readFile(mirror, sha, dockerfile)) === null) {
      throw new BuildFailure(`${dockerfile} does not exist at ${sha.slice(0, 12)}`);
    }

    const ref = this.registry.engineRef(pipeline.image);
    const tag = `${ref}:sha-${sha.slice(0, 12)}`;
    log.line('system', `building ${tag}`);
    try {
      await this.docker.build({
        context: this.git.archive(mirror, sha, pipeline.build.context),
        tag,
        dockerfile: pipeline.build.dockerfile,
        buildArgs: pipeline.build.args,
        labels: {
          'org.opencontainers.image.revision': sha,
          'org.opencontainers.image.source': redactUrl(project.cloneUrl),
          'dev.dockyard.build': build.id,
        },
        limits: {
          memoryBytes: this.config.build.memory,
          cpus: this.config.build.cpus,
          network: this.config.build.network && project.buildNetwork,
        },
        timeoutMs: this.config.build.timeout,
        signal,
        onOutput: (text) => log.write('build', text),
      });
    } catch (err) {
      if (err instanceof ImageBuildError) throw new BuildFailure(`docker build failed: ${err.message}`);
      throw err;
    }

    log.line('system', `pushing ${tag}`);
    const { digest } = await this.docker.push(
      tag,
      this.registry.engineAuth(),
      (text) => log.write('push', text),
      signal,
    );
    const sizeBytes = await this.registry.imageSize(pipeline.image, digest);
    const image = await this.releases.upsertImage({
      projectId: project.id,
      repository: pipeline.image,
      digest,
      sizeBytes,
      sha,
    });
    await this.builds.update(build.id, { imageId: image.id });
    log.line('system', `pushed ${pipeline.image}@${digest} (${sizeBytes} bytes)`);
    await this.statuses.announce(build.id, 'build', 'built');

    const failure = await this.tests.run({
      image: `${ref}@${digest}`,
      tests: pipeline.test,
      recorder: {
        create: (tests) => this.builds.createTestRuns(build.id, tests),
        update: (id, data) => this.builds.updateTestRun(id, data),
      },
      labels: { 'dev.dockyard.build': build.id },
      onOutput: (stream, text) => log.write(stream, text),
      signal,
    });
    if (failure) return { status: 'failed', reason: failure };

    const first = pipeline.stages[0];
    const stages = await this.projects.syncStages(
      project.id,
      pipeline.stages.map((s) => s.name),
    );
    if (first.auto) {
      await this.promotions.enterFirstStage(build.id, image, stages[0].id, first.name, build.pusher, build.channel);
      log.line('system', `${pipeline.image}:${first.name} is now ${digest}`);
      await this.promotions.promoteNextIfAuto(project, digest, first.name, pipeline);
    } else {
      log.line('system', `stage ${first.name} is not automatic: the image waits for a promotion`);
    }
    return { status: 'passed', reason: null };
  }

  private async readPipeline(mirror: string, build: BuildWithProject, log: BuildLogWriter): Promise<PipelineConfig> {
    const text = await this.git.readFile(mirror, build.sha, PIPELINE_FILE);
    let pipeline: PipelineConfig;
    try {
      pipeline = parsePipelineFile(text, build.project.name);
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

  /** Stop the work when the build is cancelled or superseded elsewhere (API, a newer push). */
  private watchForCancel(buildId: string, abort: AbortController): NodeJS.Timeout {
    return setInterval(() => {
      this.builds
        .status(buildId)
        .then((status) => {
          if (status && status !== 'running' && !abort.signal.aborted) abort.abort();
        })
        .catch((err: Error) => this.logger.warn(`cancel watch of ${buildId}: ${err.message}`));
    }, CANCEL_POLL_MS);
  }
}
