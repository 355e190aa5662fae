import { PipelineFileError, parsePipelineFile, pipelineJsonSchema } from './pipeline-file';
import { parseYamlOffThread } from './yaml-worker';

describe('parsePipelineFile', () => {
  it('uses the defaults when the repository has no file', async () => {
    const config = await parsePipelineFile(null, 'Web-App');
    expect(config).toMatchObject({ image: 'web-app', test: [], fromFile: false });
    expect(config.build).toEqual({ dockerfile: 'Dockerfile', context: '.', args: {} });
    // Stages and their gates come from the project's policy in Dockyard; no file adds nothing to them.
    expect(config.stages).toEqual([]);
  });

  it('reads the documented example', async () => {
    const config = await parsePipelineFile(
      [
        'image: web',
        'build: { dockerfile: Dockerfile, context: ., args: { VERSION: 3 } }',
        'test:',
        '  - name: unit',
        '    run: sh /app/test.sh',
        '    timeout: 120s',
        'stages:',
        '  - { name: dev, auto: true }',
        '  - { name: test, auto: false }',
        '  - { name: prod, approvals: 1 }',
      ].join('\n'),
      'ignored',
    );
    expect(config.image).toBe('web');
    expect(config.build.args).toEqual({ VERSION: '3' });
    expect(config.test).toEqual([
      { name: 'unit', run: 'sh /app/test.sh', timeout: 120_000, network: false, readOnly: true },
    ]);
    expect(config.stages[2]).toEqual({ name: 'prod', approvals: 1 });
  });

  it('names the line of a schema problem', async () => {
    const text = ['image: web', 'test:', '  - name: unit', '    run: true', '    timeout: soon'].join('\n');
    const err = await parsePipelineFile(text, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineFileError);
    expect((err as PipelineFileError).problems).toEqual([
      expect.stringMatching(/^line 4: test\.0\.run: /),
      expect.stringMatching(/^line 5: test\.0\.timeout: "soon" is not a duration/),
    ]);
  });

  it('names an unknown key and a YAML syntax error by line', async () => {
    await expect(parsePipelineFile('image: web\nbuidl: {}\n', 'x')).rejects.toThrow(/line 1: .*buidl/);
    await expect(parsePipelineFile('test:\n  - name: [unclosed\n', 'x')).rejects.toThrow(/line \d+: /);
  });

  it('refuses duplicate stage names', async () => {
    await expect(parsePipelineFile('stages:\n  - name: dev\n  - name: dev\n', 'x')).rejects.toThrow(
      /stage names must be unique/,
    );
  });

  it('publishes a JSON Schema', () => {
    const schema = pipelineJsonSchema() as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(['image', 'build', 'test', 'service', 'stages']);
  });

  it('reads the service block and the verify suites of a stage', async () => {
    const config = await parsePipelineFile(
      [
        'service:',
        '  port: 8080',
        '  env: [DATABASE_URL]',
        '  health: { http: /healthz, interval: 2s, startPeriod: 5s }',
        '  stopGracePeriod: 20s',
        'stages:',
        '  - name: test',
        '    verify: [{ name: smoke, run: "wget -q -O - $SERVICE_URL" }]',
      ].join('\n'),
      'web',
    );
    expect(config.service).toEqual({
      port: 8080,
      env: ['DATABASE_URL'],
      health: { http: '/healthz', interval: 2000, startPeriod: 5000 },
      stopGracePeriod: 20_000,
    });
    expect(config.stages[0].verify).toEqual([{ name: 'smoke', run: 'wget -q -O - $SERVICE_URL' }]);
    await expect(
      parsePipelineFile('service: { port: 80, health: { http: /, command: "true" } }', 'web'),
    ).rejects.toThrow(/give http or command, not both/);
  });

  // Issue 8, finding 7: the file that aborted the process, and one small enough but nested as deep.
  it('refuses a file over the size cap before parsing it', async () => {
    const text = 'image: web\ntest: ' + '['.repeat(100_000) + ']'.repeat(100_000) + '\n';
    await expect(parsePipelineFile(text, 'x')).rejects.toThrow(
      /the file is 200018 bytes; the most Dockyard reads is 32768/,
    );
  });

  it('refuses brackets nested too deep, naming the line, and counts only real brackets', async () => {
    const deep = 'image: web\ntest: ' + '['.repeat(15_000) + ']'.repeat(15_000) + '\n';
    await expect(parsePipelineFile(deep, 'x')).rejects.toThrow(/line 2: brackets nested more than 64 deep/);
    // Brackets in quotes and block scalars are text, not nesting.
    const script = `[ -f x ] && echo "${'['.repeat(100)}"`;
    const text = ['test:', '  - name: unit', '    run: |', `      ${script}`, `  - { name: b, run: '${script}' }`].join(
      '\n',
    );
    expect((await parsePipelineFile(text, 'x')).test.map((t) => t.run.trim())).toEqual([script, script]);
  });

  it('parses off the event loop, within a deadline', async () => {
    // A file that takes the parser a while (parsers are reused, so a small one may be back at once).
    const big = Array.from({ length: 1500 }, (_, i) => `k${i}: [${i}, "v${i}"]`).join('\n');
    let turns = 0;
    let parsing = true;
    const spin = () => {
      turns++;
      if (parsing) setImmediate(spin);
    };
    setImmediate(spin);
    const parsed = await parseYamlOffThread(big);
    parsing = false;
    expect(parsed.errors).toEqual([]);
    // The event loop kept turning while the file was being parsed: it is parsed elsewhere.
    expect(turns).toBeGreaterThan(1);
    await expect(parseYamlOffThread(big, 1)).rejects.toThrow('parsing took longer than 0.001 s');
    // The parser that ran out of time is gone; the next file gets another.
    expect((await parseYamlOffThread('image: web\n')).data).toEqual({ image: 'web' });
  });
});
