import { JOBS, JOB_NAMES, assertValidJobId, jobsOfQueue } from './catalogue';
import { redisOptions } from './connection';
import { CatalogueProcessor, JobHandlers, assertEveryJobHandled } from './processor';

describe('job catalogue', () => {
  it('gives every job a valid deterministic id', () => {
    const samples = {
      'build.run': { buildId: '7f3c2a4e-0000-4000-8000-000000000001' },
      'status.publish': { buildId: '7f3c2a4e-0000-4000-8000-000000000001', context: 'build', state: 'pending' },
      'promotion.run': { promotionId: '7f3c2a4e-0000-4000-8000-000000000002', at: 1795600000000 },
      'hook.deliver': { deliveryId: '7f3c2a4e-0000-4000-8000-000000000003' },
      'deployment.publish': { deployId: '7f3c2a4e-0000-4000-8000-000000000004', state: 'running' },
      'environment.reconverge': {
        environmentId: '7f3c2a4e-0000-4000-8000-000000000005',
        by: 'root',
        at: 1795600000000,
      },
    } as const;
    for (const name of JOB_NAMES) {
      const spec = JOBS[name] as { jobId(d: unknown): string };
      const id = spec.jobId(samples[name]);
      expect(assertValidJobId(id)).toBe(id);
      expect(spec.jobId(samples[name])).toBe(id);
    }
  });

  it('refuses ids BullMQ cannot take', () => {
    expect(() => assertValidJobId('a:b')).toThrow(/invalid job id/);
    expect(() => assertValidJobId('12345')).toThrow(/invalid job id/);
  });

  it('puts each job on one queue', () => {
    expect(jobsOfQueue('builds')).toEqual(['build.run']);
    expect(jobsOfQueue('statuses')).toEqual(['status.publish', 'deployment.publish']);
  });
});

describe('redisOptions', () => {
  it('reads the URL and waits for Redis rather than failing commands', () => {
    expect(redisOptions('redis://user:p%40ss@10.0.0.1:6380/2')).toMatchObject({
      host: '10.0.0.1',
      port: 6380,
      username: 'user',
      password: 'p@ss',
      db: 2,
      maxRetriesPerRequest: null,
    });
    expect(redisOptions('rediss://h').tls).toEqual({});
  });
});

describe('assertEveryJobHandled', () => {
  class Fake extends CatalogueProcessor {
    constructor(readonly handlers: JobHandlers) {
      super();
    }
  }
  const noop = async () => undefined;

  it('passes when every job has one handler', () => {
    expect(() =>
      assertEveryJobHandled([
        new Fake({ 'build.run': noop }),
        new Fake({
          'status.publish': noop,
          'deployment.publish': noop,
          'promotion.run': noop,
          'environment.reconverge': noop,
          'hook.deliver': noop,
        }),
      ]),
    ).not.toThrow();
  });

  it('names the jobs without a handler', () => {
    expect(() => assertEveryJobHandled([new Fake({ 'build.run': noop })])).toThrow(
      'the worker has no handler for job(s): status.publish, deployment.publish, promotion.run, environment.reconverge, hook.deliver',
    );
  });

  it('refuses two handlers for one job', () => {
    expect(() => assertEveryJobHandled([new Fake({ 'build.run': noop }), new Fake({ 'build.run': noop })])).toThrow(
      /job "build.run" has two handlers/,
    );
  });
});
