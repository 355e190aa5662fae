import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { handBackJobs, jobsInFlight } from '@dockyard/queue';

/** How long shutdown may go on once no job is in flight. */
export const CONNECTION_CLOSE_GRACE_MS = 10_000;
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** After the hand-back, how long the handed-back jobs have to record it before the process exits anyway. */
export const HAND_BACK_MS = 15_000;

/**
 * On SIGTERM/SIGINT Nest drains the workers' jobs in flight and then closes connections. Shutdown is
 * bounded: jobs in flight get SHUTDOWN_GRACE, then are told to hand their work back (their builds
 * go back to `queued` for the next worker), and the process exits at the latest HAND_BACK_MS later.
 * BullMQ closes Redis connections gracefully, which waits forever while Redis is away; this also
 * ends the process once nothing has been in flight for CONNECTION_CLOSE_GRACE_MS.
 */
@Injectable()
export class ShutdownWatchdog implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  private readonly onSignal = () => this.watch();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  onApplicationBootstrap(): void {
    for (const signal of SIGNALS) process.once(signal, this.onSignal);
  }

  onApplicationShutdown(): void {
    for (const signal of SIGNALS) process.removeListener(signal, this.onSignal);
  }

  private watch(): void {
    const grace = this.config.worker.shutdownGrace;
    setTimeout(() => {
      if (jobsInFlight() === 0) return;
      this.logger.warn(`${jobsInFlight()} job(s) still in flight after ${grace} ms: handing them back`);
      handBackJobs();
    }, grace).unref();
    setTimeout(() => {
      this.logger.error(`shutdown did not finish within ${grace + HAND_BACK_MS} ms; exiting`);
      process.exit(1);
    }, grace + HAND_BACK_MS).unref();
    let idleSince = jobsInFlight() === 0 ? Date.now() : 0;
    setInterval(() => {
      if (jobsInFlight() > 0) {
        idleSince = 0;
      } else if (!idleSince) {
        idleSince = Date.now();
      } else if (Date.now() - idleSince >= CONNECTION_CLOSE_GRACE_MS) {
        this.logger.warn(
          `no job in flight for ${CONNECTION_CLOSE_GRACE_MS} ms and still closing connections (is Redis away?); exiting`,
        );
        process.exit(0);
      }
    }, 250).unref();
  }
}
