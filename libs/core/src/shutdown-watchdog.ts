import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { jobsInFlight } from '@dockyard/queue';

/** How long shutdown may go on once no job is in flight. */
export const CONNECTION_CLOSE_GRACE_MS = 10_000;
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * On SIGTERM/SIGINT Nest drains the workers' jobs in flight (unbounded: a build may rightly take
 * minutes) and then closes connections. BullMQ closes Redis connections gracefully, which waits
 * forever while Redis is away; this ends the process once nothing has been in flight for the grace.
 */
@Injectable()
export class ShutdownWatchdog implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  private readonly onSignal = () => this.watch();

  onApplicationBootstrap(): void {
    for (const signal of SIGNALS) process.once(signal, this.onSignal);
  }

  onApplicationShutdown(): void {
    for (const signal of SIGNALS) process.removeListener(signal, this.onSignal);
  }

  private watch(): void {
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
