import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { Sweeper } from '@dockyard/core';
import { ObserveHosts } from './observe-hosts';

/** In each worker: every DRIFT_INTERVAL, one look at every environment's hosts (one look at a time). */
@Injectable()
export class DriftWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DriftWatch.name);
  private readonly sweeper = new Sweeper(
    () => this.observe.all(),
    undefined,
    (err) => this.logger.warn(`drift: ${err.message}`),
  );

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly observe: ObserveHosts,
  ) {}

  onApplicationBootstrap(): void {
    this.sweeper.every(this.config.deploy.driftInterval);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweeper.stop();
  }
}
