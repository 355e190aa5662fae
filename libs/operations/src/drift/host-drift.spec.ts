import { SeenContainer, compareHost } from './host-drift';

const digest = `sha256:${'a'.repeat(64)}`;
const other = `sha256:${'b'.repeat(64)}`;
const expected = { digest, env: { MODE: 'prod', TOKEN: 'hunter2' }, imageEnv: ['PATH=/bin'] };
const container = (over: Partial<SeenContainer> = {}): SeenContainer => ({
  name: 'web-1',
  running: true,
  health: 'healthy',
  image: `127.0.0.1:5000/acme/web@${digest}`,
  labels: { 'dev.dockyard.digest': digest },
  env: ['PATH=/bin', 'MODE=prod', 'TOKEN=hunter2'],
  ...over,
});

describe('compareHost', () => {
  it('in sync: the recorded digest with the recorded variables, healthy', () => {
    expect(compareHost(expected, [container()])).toEqual({
      state: 'in_sync',
      runningDigest: digest,
      healthy: true,
      detail: null,
    });
  });

  it('drifted: another digest, whatever the label says', () => {
    const seen = compareHost(expected, [container({ image: `127.0.0.1:5000/acme/web@${other}` })]);
    expect(seen).toMatchObject({ state: 'drifted', runningDigest: other });
    expect(seen.detail).toMatch(/web-1 runs bbbbbbbbbbbb, the Release is aaaaaaaaaaaa/);
  });

  it('drifted: a variable changed or added by hand is named, its value never', () => {
    const seen = compareHost(expected, [container({ env: ['PATH=/bin', 'MODE=debug', 'TOKEN=stolen', 'EXTRA=1'] })]);
    expect(seen.state).toBe('drifted');
    expect(seen.detail).toBe('web-1 has other variables than recorded (EXTRA, MODE, TOKEN)');
    expect(seen.detail).not.toMatch(/hunter2|stolen|debug/);
  });

  it('down: nothing running, or unhealthy', () => {
    expect(compareHost(expected, [])).toMatchObject({
      state: 'down',
      detail: 'no container of this environment is on the host',
    });
    expect(compareHost(expected, [container({ running: false })])).toMatchObject({
      state: 'down',
      detail: 'no container is running (web-1 stopped)',
    });
    expect(compareHost(expected, [container({ health: 'unhealthy' })])).toMatchObject({
      state: 'down',
      healthy: false,
      detail: 'container web-1 is unhealthy',
    });
  });
});
