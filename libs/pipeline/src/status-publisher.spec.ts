import type { BuildDetail } from '@dockyard/db';
import { statusOf } from './status-publisher';

const build = (over: Partial<BuildDetail>): BuildDetail =>
  ({ status: 'queued', reason: null, image: null, testRuns: [], ...over }) as BuildDetail;
const image = { repository: 'acme/web', digest: `sha256:${'a'.repeat(64)}`, sizeBytes: 1n };

describe('statusOf', () => {
  it('is pending while the build waits or runs', () => {
    expect(statusOf(build({}), 'build')).toEqual({ state: 'pending', description: 'Waiting for a worker' });
    expect(statusOf(build({ status: 'running' }), 'build').description).toBe('Building the image');
    expect(statusOf(build({ status: 'running', image }), 'test')).toEqual({
      state: 'pending',
      description: 'Running tests',
    });
  });

  it('says the image is built as soon as it is, whatever the tests do', () => {
    expect(statusOf(build({ status: 'failed', image, reason: 'test unit failed: exit code 3' }), 'build')).toEqual({
      state: 'success',
      description: `Image built: ${image.digest.slice(0, 19)}`,
    });
  });

  it('fails the test context with the reason when tests fail, and errors it when they never ran', () => {
    expect(statusOf(build({ status: 'failed', image, reason: 'test unit failed: exit code 3' }), 'test')).toEqual({
      state: 'failure',
      description: 'test unit failed: exit code 3',
    });
    expect(statusOf(build({ status: 'failed', reason: 'docker build failed: x' }), 'build').state).toBe('failure');
    expect(statusOf(build({ status: 'failed', reason: 'docker build failed: x' }), 'test')).toEqual({
      state: 'error',
      description: 'Tests not run: the build did not produce an image',
    });
  });

  it('errors both contexts of a superseded build with the reason', () => {
    const superseded = build({ status: 'superseded', reason: 'superseded by build b2' });
    expect(statusOf(superseded, 'build')).toEqual({ state: 'error', description: 'superseded by build b2' });
    expect(statusOf(superseded, 'test')).toEqual({ state: 'error', description: 'superseded by build b2' });
  });

  it('counts passed tests, or says there were none', () => {
    expect(statusOf(build({ status: 'passed', image, testRuns: [{}, {}] as never }), 'test').description).toBe(
      '2 test(s) passed',
    );
    expect(statusOf(build({ status: 'passed', image }), 'test').description).toBe('No tests configured');
  });
});
