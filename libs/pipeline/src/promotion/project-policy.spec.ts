import { parsePipelineFile } from '../pipeline-file';
import { DEFAULT_POLICY, InvalidPolicyError, parsePolicy, registryNamespace, rulesInForce } from './project-policy';

/** A file as the build reads it (parsed in a worker thread). */
const file = (yaml: string) => parsePipelineFile(yaml, 'acme/web');
const stage = (rules: ReturnType<typeof rulesInForce>, name: string) =>
  rules.rules.stages.find((s) => s.name === name)!;

describe('the default policy', () => {
  it('is dev (auto) → test → prod (1 approval, separation of duties)', () => {
    expect(DEFAULT_POLICY.stages.map((s) => [s.name, s.auto, s.approvals, s.separationOfDuties])).toEqual([
      ['dev', true, 0, false],
      ['test', false, 0, false],
      ['prod', false, 1, true],
    ]);
  });
});

describe('parsePolicy', () => {
  it('names every problem and turns separation of duties on for the last stage by default', () => {
    expect(() => parsePolicy({ stages: [{ name: 'dev' }, { name: 'dev' }] })).toThrow(/stage names must be unique/);
    expect(() => parsePolicy({ stages: [{ name: 'prod', approvals: -1 }] })).toThrow(InvalidPolicyError);
    expect(() => parsePolicy({ stages: [{ name: 'prod', aprovals: 1 }] })).toThrow(/aprovals/);
    const rules = parsePolicy({ stages: [{ name: 'a' }, { name: 'b', signoff: { roles: ['approver'] } }] });
    expect(rules.stages.map((s) => s.separationOfDuties)).toEqual([false, true]);
    expect(rules.stages[1].signoff).toEqual({ required: true, roles: ['approver'], users: [] });
  });
});

describe('registryNamespace', () => {
  it('is <prefix>/<owner>/<name>, lower-cased, so a/web and b/web never share a repository', () => {
    expect(registryNamespace({ owner: 'Acme', name: 'Web.App' })).toBe('acme/web.app');
    expect(registryNamespace({ owner: 'a', name: 'web' }, 'dockyard')).toBe('dockyard/a/web');
    expect(registryNamespace({ owner: 'a', name: 'web' })).not.toBe(registryNamespace({ owner: 'b', name: 'web' }));
    expect(registryNamespace({ owner: '-x-', name: 'a__b' })).toBe('x/a_b');
  });
});

describe('rulesInForce: the file only adds checks', () => {
  const ns = 'acme/web';

  it('keeps the project policy when there is no file', async () => {
    const r = rulesInForce(DEFAULT_POLICY, await file(''), ns);
    expect(r.problems).toEqual([]);
    expect(r.rules.stages).toEqual(DEFAULT_POLICY.stages);
  });

  it('never lowers approvals or turns separation of duties off (finding 1)', async () => {
    const r = rulesInForce(
      DEFAULT_POLICY,
      await file('stages:\n  - { name: prod, approvals: 0, separationOfDuties: false }'),
      ns,
    );
    expect(stage(r, 'prod')).toMatchObject({ approvals: 1, separationOfDuties: true });
    expect(r.problems).toEqual([]);
    expect(r.notes).toEqual([
      expect.stringMatching(/approvals: 0 .* below the project's 1/),
      expect.stringMatching(/separationOfDuties: the project's policy keeps it on/),
    ]);
  });

  it('adds approvals, tests, freezes and separation of duties', async () => {
    const r = rulesInForce(
      DEFAULT_POLICY,
      await file(
        [
          'stages:',
          '  - name: test',
          '    approvals: 2',
          '    separationOfDuties: true',
          '    test: [{ name: smoke, run: "true" }]',
          '    freeze: [{ from: "2030-01-01T00:00:00Z", to: "2030-01-02T00:00:00Z" }]',
        ].join('\n'),
      ),
      ns,
    );
    expect(stage(r, 'test')).toMatchObject({
      approvals: 2,
      separationOfDuties: true,
      test: [expect.objectContaining({ name: 'smoke' })],
      freeze: [{ from: '2030-01-01T00:00:00Z', to: '2030-01-02T00:00:00Z' }],
    });
  });

  it('keeps the project suites and freezes and refuses a file suite that would redefine one', async () => {
    const project = parsePolicy({
      stages: [
        { name: 'dev', auto: true },
        {
          name: 'prod',
          test: [{ name: 'smoke', run: 'sh /smoke' }],
          freeze: [{ cron: '0 16 * * 5', duration: '64h' }],
        },
      ],
    });
    const r = rulesInForce(
      project,
      await file('stages:\n  - name: prod\n    test: [{ name: smoke, run: "true" }]'),
      ns,
    );
    expect(stage(r, 'prod').test).toEqual([expect.objectContaining({ name: 'smoke', run: 'sh /smoke' })]);
    expect(stage(r, 'prod').freeze).toHaveLength(1);
    expect(r.problems).toEqual([expect.stringMatching(/"smoke" is a suite of the project's policy/)]);
  });

  it('refuses new, renamed and reordered stages', async () => {
    expect(rulesInForce(DEFAULT_POLICY, await file('stages:\n  - name: qa'), ns).problems).toEqual([
      expect.stringMatching(/"qa" is not one of this project's stages \(dev → test → prod\)/),
    ]);
    expect(rulesInForce(DEFAULT_POLICY, await file('stages:\n  - name: prod\n  - name: test'), ns).problems).toEqual([
      expect.stringMatching(/"test" is out of order/),
    ]);
  });

  it('lets the file keep a stage manual, never make one automatic (finding 2)', async () => {
    const on = rulesInForce(DEFAULT_POLICY, await file('stages:\n  - { name: prod, auto: true }'), ns);
    expect(on.problems).toEqual([expect.stringMatching(/prod\.auto: only an admin can make "prod" automatic/)]);
    expect(stage(on, 'prod').auto).toBe(false);
    const off = rulesInForce(DEFAULT_POLICY, await file('stages:\n  - { name: dev, auto: false }'), ns);
    expect(stage(off, 'dev').auto).toBe(false);
    expect(off.problems).toEqual([]);
  });

  it('narrows the approvers, never widens them', async () => {
    const project = parsePolicy({ stages: [{ name: 'prod', approvals: 1, approvers: ['bob', 'carol'] }] });
    expect(
      stage(rulesInForce(project, await file('stages:\n  - { name: prod, approvers: [carol, mallory] }'), ns), 'prod')
        .approvers,
    ).toEqual(['carol']);
    const none = rulesInForce(project, await file('stages:\n  - { name: prod, approvers: [mallory] }'), ns);
    expect(stage(none, 'prod').approvers).toEqual(['bob', 'carol']);
    expect(none.problems).toEqual([expect.stringMatching(/none of mallory is among the project's approvers/)]);
    expect(
      stage(rulesInForce(DEFAULT_POLICY, await file('stages:\n  - { name: prod, approvers: [dave] }'), ns), 'prod')
        .approvers,
    ).toEqual(['dave']);
  });

  it("keeps the image and stage repositories inside the project's namespace unless the policy allows (finding 3)", async () => {
    expect(rulesInForce(DEFAULT_POLICY, await file('image: other/web'), ns).problems).toEqual([
      'image: "other/web" is outside this project\'s registry namespace "acme/web"',
    ]);
    expect(rulesInForce(DEFAULT_POLICY, await file('image: acme/web/api'), ns).problems).toEqual([]);
    expect(rulesInForce(DEFAULT_POLICY, await file('image: acme/web-other'), ns).problems).toHaveLength(1);
    const outside = await file('stages:\n  - { name: prod, repository: acme/releases }');
    expect(rulesInForce(DEFAULT_POLICY, outside, ns).problems).toEqual([
      expect.stringMatching(/"acme\/releases" is outside/),
    ]);
    const allowed = { ...DEFAULT_POLICY, repositories: ['acme/releases'] };
    expect(stage(rulesInForce(allowed, outside, ns), 'prod').repository).toBe('acme/releases');
    const pinned = parsePolicy({ stages: [{ name: 'prod', repository: 'vault/web' }] });
    expect(rulesInForce(pinned, outside, ns).problems).toEqual([
      expect.stringMatching(/keeps this stage in vault\/web/),
    ]);
  });
});
