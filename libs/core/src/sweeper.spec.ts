import { Sweeper } from './sweeper';

/** A pass that ends when the test says so. */
function controlledPass() {
  const ends: Array<(value: number) => void> = [];
  let calls = 0;
  const pass = jest.fn(
    (n = 1) =>
      new Promise<number>((resolve) => {
        calls++;
        ends.push(() => resolve(n));
      }),
  );
  return { pass, end: () => ends.shift()?.(0), calls: () => calls };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('Sweeper', () => {
  afterEach(() => jest.useRealTimers());

  it('runs one pass at a time: a run asked for during a pass answers busy', async () => {
    const { pass, end } = controlledPass();
    const sweeper = new Sweeper(pass, -1, () => undefined);
    const first = sweeper.run(7);
    expect(await sweeper.run(8)).toBe(-1);
    end();
    expect(await first).toBe(7);
    expect(pass).toHaveBeenCalledTimes(1);
    expect(pass).toHaveBeenCalledWith(7);
  });

  it('passes a failure of run() to its caller, and runs again after it', async () => {
    const onError = jest.fn();
    let fail = true;
    const sweeper = new Sweeper(
      async () => {
        if (fail) throw new Error('boom');
        return 'ok';
      },
      'busy',
      onError,
    );
    await expect(sweeper.run()).rejects.toThrow('boom');
    fail = false;
    expect(await sweeper.run()).toBe('ok');
    expect(onError).not.toHaveBeenCalled();
  });

  it('runs every interval, skipping a tick while a pass is in flight', async () => {
    jest.useFakeTimers();
    const { pass, end, calls } = controlledPass();
    const sweeper = new Sweeper(pass, 0, () => undefined);
    sweeper.every(1_000);
    expect(calls()).toBe(0);
    jest.advanceTimersByTime(1_000);
    expect(calls()).toBe(1);
    jest.advanceTimersByTime(3_000); // the first pass still runs: no second one
    expect(calls()).toBe(1);
    end();
    await Promise.resolve();
    await Promise.resolve();
    jest.advanceTimersByTime(1_000);
    expect(calls()).toBe(2);
    end();
    await sweeper.stop();
  });

  it('with now, runs a first pass at once', () => {
    jest.useFakeTimers();
    const { calls, pass } = controlledPass();
    const sweeper = new Sweeper(pass, 0, () => undefined);
    sweeper.every(60_000, { now: true });
    expect(calls()).toBe(1);
    void sweeper.stop();
  });

  it('wake() during a pass runs exactly one more pass after it', async () => {
    const { pass, end, calls } = controlledPass();
    const sweeper = new Sweeper(pass, 0, () => undefined);
    sweeper.wake();
    sweeper.wake();
    sweeper.wake();
    expect(calls()).toBe(1);
    end();
    await flush();
    expect(calls()).toBe(2);
    end();
    await flush();
    expect(calls()).toBe(2);
  });

  it('sends a failed timer or wake() pass to onError', async () => {
    const onError = jest.fn();
    const sweeper = new Sweeper(
      async () => {
        throw new Error('engine away');
      },
      undefined,
      onError,
    );
    sweeper.wake();
    await flush();
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'engine away' }));
  });

  it('stop() waits for the pass in flight, then no pass runs again', async () => {
    jest.useFakeTimers();
    const { pass, end, calls } = controlledPass();
    const sweeper = new Sweeper(pass, 0, () => undefined);
    sweeper.every(1_000);
    jest.advanceTimersByTime(1_000);
    let stopped = false;
    const stopping = sweeper.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    end();
    await stopping;
    expect(stopped).toBe(true);
    jest.advanceTimersByTime(10_000);
    sweeper.wake();
    expect(await sweeper.run()).toBe(0);
    expect(calls()).toBe(1);
  });
});
