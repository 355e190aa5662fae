import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import type { TestRun, TestRunStatus, TestRunUpdate } from '@dockyard/db';
import { DockerEngine, OperationCancelledError } from '@dockyard/docker';
import { RegistryClient } from '@dockyard/registry';
import type { PipelineTest } from './pipeline-file';

const OUTPUT_CAP = 1024 * 1024;

export interface SuiteRecorder {
  create(tests: { name: string; command: string }[]): Promise<TestRun[]>;
  update(id: string, data: TestRunUpdate): Promise<unknown>;
}

/**
 * Runs tests in order, each in a fresh container from one image digest, confined (see
 * DockerEngine.run), with the configured limits and no network unless a test asks; stops at the
 * first failure. Used for a build's tests and for
 * the suites a stage runs before an image may enter it.
 */
@Injectable()
export class TestSuite {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly docker: DockerEngine,
    private readonly registry: RegistryClient,
  ) {}

  /** Returns why the suite failed, or null when every test passed. */
  async run(opts: {
    image: string;
    tests: PipelineTest[];
    recorder: SuiteRecorder;
    labels: Record<string, string>;
    onOutput?: (stream: string, text: string) => void;
    signal?: AbortSignal;
  }): Promise<string | null> {
    // Another worker's engine may have built it: tests pull the digest through the engine's address.
    if (opts.tests.length) await this.docker.ensureImage(opts.image, this.registry.engineAuth(), opts.signal);
    const runs = await opts.recorder.create(opts.tests.map((t) => ({ name: t.name, command: t.run })));
    for (const [i, test] of opts.tests.entries()) {
      const run = runs[i];
      const stream = `test:${test.name}`;
      const timeout = test.timeout ?? this.config.test.timeout;
      const startedAt = new Date();
      await opts.recorder.update(run.id, { status: 'running', startedAt });
      opts.onOutput?.('system', `test ${test.name}: ${test.run}\n`);
      let output = '';
      const result = await this.docker.run({
        image: opts.image,
        command: test.run,
        network: test.network,
        memoryBytes: this.config.test.memory,
        cpus: this.config.test.cpus,
        pids: this.config.test.pids,
        user: test.user,
        readOnlyRoot: test.readOnly,
        timeoutMs: timeout,
        labels: { ...opts.labels, 'dev.dockyard.test': test.name },
        signal: opts.signal,
        onOutput: (text) => {
          opts.onOutput?.(stream, text);
          if (output.length < OUTPUT_CAP) output += text;
        },
      });
      const finishedAt = new Date();
      const status: TestRunStatus = result.cancelled
        ? 'cancelled'
        : result.timedOut
          ? 'timed_out'
          : result.exitCode === 0
            ? 'passed'
            : 'failed';
      const reason =
        {
          timed_out: `killed after ${timeout} ms`,
          failed: `exit code ${result.exitCode}`,
          cancelled: 'stopped',
        }[status as string] ?? null;
      await opts.recorder.update(run.id, {
        status,
        exitCode: result.exitCode,
        reason,
        output: output.slice(0, OUTPUT_CAP),
        finishedAt,
        durationMs: finishedAt.getTime() - startedAt.getTime(),
      });
      if (result.cancelled) throw new OperationCancelledError('cancelled');
      if (status !== 'passed') {
        for (const rest of runs.slice(i + 1))
          await opts.recorder.update(rest.id, { status: 'cancelled', reason: `not run: ${test.name} ${status}` });
        return `test ${test.name} ${status === 'timed_out' ? 'timed out' : 'failed'}: ${reason}`;
      }
    }
    return null;
  }
}
