/**
 * Work done again and again by a process (reconcile, missed pushes, redeliveries, hook dispatch,
 * drift, the deploy watchdog): one pass at a time, every interval, unref'd so it never keeps a
 * process alive, and stopped at shutdown only once the pass in flight has ended.
 *
 * - `run()` is one pass now; while one is in flight it does nothing and answers `busy`.
 * - `wake()` is a pass now, or once more right after the one in flight (for work woken by a
 *   notification, where a wake-up during a pass may name rows that pass did not see).
 * - A pass that throws from the timer or `wake()` goes to `onError`; `run()` hands it to its caller.
 */
export class Sweeper<A extends unknown[], T> {
  private timer?: NodeJS.Timeout;
  private inFlight: Promise<T> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly pass: (...args: A) => Promise<T>,
    private readonly busy: T,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Run a pass every `ms` (and one at once with `now`), with the pass's default arguments. */
  every(ms: number, opts: { now?: boolean } = {}): void {
    if (this.stopped || this.timer) return;
    this.timer = setInterval(() => this.wake(false), ms);
    this.timer.unref();
    if (opts.now) this.wake(false);
  }

  async run(...args: A): Promise<T> {
    if (this.inFlight || this.stopped) return this.busy;
    const pass = this.pass(...args);
    this.inFlight = pass;
    try {
      return await pass;
    } finally {
      this.inFlight = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    }
  }

  wake(queueAgain = true): void {
    if (this.stopped) return;
    if (this.inFlight) {
      if (queueAgain) this.again = true;
      return;
    }
    this.run(...([] as unknown as A)).catch((err: Error) => this.onError(err));
  }

  /** No more passes; resolves when the one in flight (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight?.catch(() => undefined);
  }
}
