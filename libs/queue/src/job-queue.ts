import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import type { Job, Queue } from 'bullmq';
import { JOBS, JobData, JobName, QUEUES, QueueName, assertValidJobId } from './catalogue';

export class QueueUnavailableError extends Error {}

/** How long an add may wait for Redis before the caller is told to leave the work to the reconciler. */
const ADD_DEADLINE_MS = 1_500;

/** Adds jobs by catalogue name, with their deterministic ids and options. */
@Injectable()
export class JobQueue {
  private readonly queues: Record<QueueName, Queue>;

  constructor(
    @InjectQueue(QUEUES.builds) builds: Queue,
    @InjectQueue(QUEUES.statuses) statuses: Queue,
    @InjectQueue(QUEUES.promotions) promotions: Queue,
    @InjectQueue(QUEUES.hooks) hooks: Queue,
  ) {
    this.queues = { builds, statuses, promotions, hooks };
  }

  /**
   * Add a job, or throw QueueUnavailableError within a bounded time when Redis is away. A late add
   * that still lands is harmless: the job id is deterministic and handlers check Postgres first.
   */
  async add<N extends JobName>(name: N, data: JobData<N>, options: { delay?: number } = {}): Promise<Job> {
    const spec = JOBS[name];
    const queue = this.queues[spec.queue];
    return this.bounded(
      queue.add(name, data, { ...spec.options, ...options, jobId: assertValidJobId(spec.jobId(data)) }),
      name,
    );
  }

  /**
   * Add a job for work Postgres says is still to do. A job of the same id that already ended
   * (completed after handing its build back, or failed after its worker was lost too often) would
   * make the add a no-op, so it is removed first; a waiting, delayed or active job is left alone.
   */
  async ensure<N extends JobName>(name: N, data: JobData<N>): Promise<Job> {
    const spec = JOBS[name];
    const queue = this.queues[spec.queue];
    const existing = await this.bounded(queue.getJob(assertValidJobId(spec.jobId(data))), name);
    if (existing) {
      const state = await this.bounded(existing.getState(), name);
      if (state !== 'completed' && state !== 'failed') return existing;
      await this.bounded(existing.remove(), name);
    }
    return this.add(name, data);
  }

  private async bounded<T>(work: Promise<T>, name: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    work.catch(() => undefined);
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new QueueUnavailableError(`Redis did not answer about a ${name} job within ${ADD_DEADLINE_MS} ms`),
              ),
            ADD_DEADLINE_MS,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  queue(name: QueueName): Queue {
    return this.queues[name];
  }

  all(): Queue[] {
    return Object.values(this.queues);
  }
}
