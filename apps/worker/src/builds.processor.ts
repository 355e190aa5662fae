import { Inject, OnApplicationBootstrap } from '@nestjs/common';
import { Processor } from '@nestjs/bullmq';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { CatalogueProcessor, JobHandlers, QUEUES } from '@dockyard/queue';
import { BuildRunner } from '@dockyard/pipeline';

@Processor(QUEUES.builds)
export class BuildsProcessor extends CatalogueProcessor implements OnApplicationBootstrap {
  readonly handlers: JobHandlers = {
    'build.run': (data, job, _token, signal) =>
      this.runner.run(data.buildId, { number: job.attemptsMade + 1, max: job.opts.attempts ?? 1 }, signal),
  };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly runner: BuildRunner,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.worker.concurrency;
  }
}
