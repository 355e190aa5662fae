import type { JobsOptions } from 'bullmq';

/** Every queue Dockyard uses. Postgres is the record of truth; a queue only carries work. */
export const QUEUES = {
  builds: 'builds',
  statuses: 'statuses',
  promotions: 'promotions',
  hooks: 'hooks',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Every job: its queue and its payload. Payloads carry ids only; the rest is read from Postgres. */
export interface JobPayloads {
  /** Fetch, build, push and test one build, then put the image into the first stage. */
  'build.run': { buildId: string };
  /** Publish a build's current state to GitHub as commit statuses. */
  'status.publish': { buildId: string; context: 'build' | 'test'; state: string };
  /** Publish a deploy's current state to GitHub as a deployment of its environment. */
  'deployment.publish': { deployId: string; state: string };
  /** Evaluate a promotion again: run its stage tests, or look again after a freeze window. */
  'promotion.run': { promotionId: string; at: number };
  /** Deploy a stage's recorded digest to its environment again (an admin's re-converge). */
  'environment.reconverge': { environmentId: string; by: string; at: number };
  /** Send one event to one outgoing webhook (a HookDelivery row), in event order per hook. */
  'hook.deliver': { deliveryId: string };
}
export type JobName = keyof JobPayloads;
export type JobData<N extends JobName> = JobPayloads[N];

interface JobSpec<N extends JobName> {
  queue: QueueName;
  /** Deterministic, so that a redelivery or a retry never makes a second job. */
  jobId(data: JobData<N>): string;
  options: JobsOptions;
}

const keep = { removeOnComplete: { age: 24 * 3600, count: 1000 }, removeOnFail: { age: 7 * 24 * 3600 } };

export const JOBS: { [N in JobName]: JobSpec<N> } = {
  'build.run': {
    queue: QUEUES.builds,
    jobId: (d) => `build-${d.buildId}`,
    // Build and test failures are final (UnrecoverableError); these retries are for hiccups.
    options: { attempts: 3, backoff: { type: 'exponential', delay: 2_000 }, ...keep },
  },
  'status.publish': {
    queue: QUEUES.statuses,
    jobId: (d) => `status-${d.buildId}-${d.context}-${d.state}`,
    // A GitHub outage never fails a build: statuses keep trying for about an hour.
    options: { attempts: 12, backoff: { type: 'exponential', delay: 1_000 }, ...keep },
  },
  'deployment.publish': {
    queue: QUEUES.statuses,
    jobId: (d) => `deployment-${d.deployId}-${d.state}`,
    // Like commit statuses: a GitHub outage is retried for about an hour and never fails a deploy.
    options: { attempts: 12, backoff: { type: 'exponential', delay: 1_000 }, ...keep },
  },
  'promotion.run': {
    queue: QUEUES.promotions,
    // One job per scheduled look: a freeze window's end and a test run are different looks.
    jobId: (d) => `promotion-${d.promotionId}-${d.at}`,
    options: { attempts: 5, backoff: { type: 'exponential', delay: 1_000 }, ...keep },
  },
  'environment.reconverge': {
    queue: QUEUES.promotions,
    jobId: (d) => `reconverge-${d.environmentId}-${d.at}`,
    // A deploy that fails has rolled back and says why; a retry is the admin's call.
    options: { attempts: 1, ...keep },
  },
  'hook.deliver': {
    queue: QUEUES.hooks,
    // A redelivery is a new delivery row, so a new job.
    jobId: (d) => `hook-${d.deliveryId}`,
    // 1 s, 2 s, 4 s … about four minutes in all before the delivery counts as failed.
    options: { attempts: 9, backoff: { type: 'exponential', delay: 1_000 }, ...keep },
  },
};

export const JOB_NAMES = Object.keys(JOBS) as JobName[];

/** BullMQ job ids may not contain ':' and must not be all digits. */
export function assertValidJobId(id: string): string {
  if (id.includes(':') || /^\d+$/.test(id)) throw new Error(`invalid job id "${id}"`);
  return id;
}

export function jobsOfQueue(queue: QueueName): JobName[] {
  return JOB_NAMES.filter((name) => JOBS[name].queue === queue);
}
