import { OnModuleDestroy } from '@nestjs/common';
import { WorkerHost } from '@nestjs/bullmq';
import { Job, UnrecoverableError } from 'bullmq';
import { JOB_NAMES, JobData, JobName } from './catalogue';

let inFlight = 0;
const handBack = new AbortController();

/** How many jobs this process is working on right now (for a bounded shutdown). */
export function jobsInFlight(): number {
  return inFlight;
}

/**
 * Shutdown's grace is over: every job in flight stops and hands its work back (a build goes back to
 * `queued` for the next worker). Handlers see it as their `signal` firing.
 */
export function handBackJobs(): void {
  handBack.abort(new Error('the worker is shutting down'));
}

export type JobHandlers = {
  [N in JobName]?: (
    data: JobData<N>,
    job: Job<JobData<N>>,
    token: string | undefined,
    signal: AbortSignal,
  ) => Promise<unknown>;
};

/** A thin processor: it routes each job of its queue to a use case, by the job's catalogue name. */
export abstract class CatalogueProcessor extends WorkerHost implements OnModuleDestroy {
  abstract readonly handlers: JobHandlers;

  /**
   * On shutdown, stop taking jobs and wait for the ones in flight, while Postgres and Redis are
   * still open (Nest closes those in the later onApplicationShutdown stage).
   */
  async onModuleDestroy(): Promise<void> {
    try {
      await this.worker.close();
    } catch {
      // No worker was started (the app failed to boot).
    }
  }

  async process(job: Job, token?: string): Promise<unknown> {
    const handler = this.handlers[job.name as JobName] as
      ((data: unknown, job: Job, token: string | undefined, signal: AbortSignal) => Promise<unknown>) | undefined;
    if (!handler) throw new UnrecoverableError(`no handler for job "${job.name}"`);
    inFlight++;
    try {
      return await handler(job.data, job, token, handBack.signal);
    } finally {
      inFlight--;
    }
  }
}

/** The worker refuses to boot when a catalogued job has no handler (or two). */
export function assertEveryJobHandled(processors: CatalogueProcessor[]): void {
  const seen = new Map<string, string>();
  for (const processor of processors) {
    for (const name of Object.keys(processor.handlers)) {
      const other = seen.get(name);
      if (other) throw new Error(`job "${name}" has two handlers: ${other} and ${processor.constructor.name}`);
      seen.set(name, processor.constructor.name);
    }
  }
  const missing = JOB_NAMES.filter((name) => !seen.has(name));
  if (missing.length) throw new Error(`the worker has no handler for job(s): ${missing.join(', ')}`);
}
