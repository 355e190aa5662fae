import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { ObserveHosts } from './observe-hosts';

/** In each worker: every DRIFT_INTERVAL, one look at every environment's hosts (one look at a time). */
@Injectable()
export class DriftWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DriftWatch.name);
  private timer?: NodeJS.Timeout;
  private looking = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly observe: ObserveHosts,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.look(), this.config.deploy.driftInterval);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async look(): Promise<void> {
    if (this.looking) return;
    this.looking = true;
    try {
      await this.observe.all();
    } catch (err) {
      this.logger.warn(`drift: ${(err as Error).message}`);
    } finally {
      this.looking = false;
    }
  }
}
