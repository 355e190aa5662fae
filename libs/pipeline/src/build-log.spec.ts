import { BuildLogWriter } from './build-log';

describe('BuildLogWriter', () => {
  const sink = () => {
    const batches: { seq: number; stream: string; text: string }[][] = [];
    return { batches, appendLogs: async (_id: string, chunks: (typeof batches)[number]) => void batches.push(chunks) };
  };

  it('numbers chunks on from the last sequence and writes them in one batch per flush', async () => {
    const repo = sink();
    const log = new BuildLogWriter(repo, 'b1', 41);
    log.write('build', 'Step 1/3\n');
    log.line('system', 'pushing');
    await log.flush();
    expect(repo.batches).toEqual([
      [
        { seq: 42, stream: 'build', text: 'Step 1/3\n' },
        { seq: 43, stream: 'system', text: 'pushing\n' },
      ],
    ]);
  });

  it('cuts very long output into 64 KiB chunks, in order', async () => {
    const repo = sink();
    const log = new BuildLogWriter(repo, 'b1', 0);
    log.write('test:unit', 'x'.repeat(64 * 1024 + 10));
    await log.flush();
    expect(repo.batches[0].map((c) => [c.seq, c.text.length])).toEqual([
      [1, 64 * 1024],
      [2, 10],
    ]);
  });

  it('flushes by itself shortly after output arrives', async () => {
    const repo = sink();
    const log = new BuildLogWriter(repo, 'b1', 0);
    log.write('build', 'hello');
    await new Promise((r) => setTimeout(r, 400));
    expect(repo.batches).toHaveLength(1);
    log.write('build', '');
    await log.flush();
    expect(repo.batches.at(-1)).toEqual([]);
  });
});
