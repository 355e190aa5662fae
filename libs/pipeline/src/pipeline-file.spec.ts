import { PipelineFileError, parsePipelineFile, pipelineJsonSchema } from './pipeline-file';

describe('parsePipelineFile', () => {
  it('uses the defaults when the repository has no file', () => {
    const config = parsePipelineFile(null, 'Web-App');
    expect(config).toMatchObject({ image: 'web-app', test: [], fromFile: false });
    expect(config.build).toEqual({ dockerfile: 'Dockerfile', context: '.', args: {} });
    // Stages and their gates come from the project's policy in Dockyard; no file adds nothing to them.
    expect(config.stages).toEqual([]);
  });

  it('reads the documented example', () => {
    const config = parsePipelineFile(
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

  it('names the line of a schema problem', () => {
    const text = ['image: web', 'test:', '  - name: unit', '    run: true', '    timeout: soon'].join('\n');
    expect(() => parsePipelineFile(text, 'x')).toThrow(PipelineFileError);
    try {
      parsePipelineFile(text, 'x');
    } catch (err) {
      expect((err as PipelineFileError).problems).toEqual([
        expect.stringMatching(/^line 4: test\.0\.run: /),
        expect.stringMatching(/^line 5: test\.0\.timeout: "soon" is not a duration/),
      ]);
    }
  });

  it('names an unknown key and a YAML syntax error by line', () => {
    expect(() => parsePipelineFile('image: web\nbuidl: {}\n', 'x')).toThrow(/line 1: .*buidl/);
    expect(() => parsePipelineFile('test:\n  - name: [unclosed\n', 'x')).toThrow(/line \d+: /);
  });

  it('refuses duplicate stage names', () => {
    expect(() => parsePipelineFile('stages:\n  - name: dev\n  - name: dev\n', 'x')).toThrow(
      /stage names must be unique/,
    );
  });

  it('publishes a JSON Schema', () => {
    const schema = pipelineJsonSchema() as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(['image', 'build', 'test', 'service', 'stages']);
  });

  it('reads the service block and the verify suites of a stage', () => {
    const config = parsePipelineFile(
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
    expect(() => parsePipelineFile('service: { port: 80, health: { http: /, command: "true" } }', 'web')).toThrow(
      /give http or command, not both/,
    );
  });
});
