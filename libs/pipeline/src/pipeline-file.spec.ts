import { PipelineFileError, parsePipelineFile, pipelineJsonSchema } from './pipeline-file';

describe('parsePipelineFile', () => {
  it('uses the defaults when the repository has no file', () => {
    const config = parsePipelineFile(null, 'Web-App');
    expect(config).toMatchObject({ image: 'web-app', test: [], fromFile: false });
    expect(config.build).toEqual({ dockerfile: 'Dockerfile', context: '.', args: {} });
    expect(config.stages.map((s) => s.name)).toEqual(['dev', 'test', 'prod']);
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
    expect(config.stages[2]).toMatchObject({ name: 'prod', approvals: 1, auto: false });
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
    expect(Object.keys(schema.properties)).toEqual(['image', 'build', 'test', 'stages']);
  });
});
