import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { TestApp, deliver, eventually, pushPayload, startApp } from './support/app';
import { SCRATCH_DOCKERFILE } from './support/git-repo';
import { Scenario } from './support/scenario';

jest.setTimeout(180_000);

/** Issue 8, finding 8: build steps and tests run confined by default. */
describe('containers are confined by default (real Docker Engine)', () => {
  let t: TestApp;
  let s: Scenario;

  beforeAll(async () => {
    t = await startApp({ BUILD_MEMORY: '300mb', BUILD_CPUS: '0.5', TEST_TIMEOUT: '60s' });
    s = new Scenario(t);
    await s.user('root', 'admin', ['admin']);
    await s.register('root');
  });

  afterAll(async () => {
    s?.remove();
    await t?.close();
  });

  /** Commit and push; returns the finished build with its log. */
  async function build(files: Record<string, string>) {
    const sha = s.repo.commit({ 'app/README': 'the app', ...files });
    const res = await deliver(t.url, pushPayload(s.owner, s.name, sha)).expect(202);
    const done = await eventually(
      async () => {
        const b = (await request(t.url).get(`/api/v1/builds/${res.body.buildId}`).set(s.as('root'))).body;
        return !['queued', 'running'].includes(b.status) && b;
      },
      120_000,
      'build',
    );
    const log = (await request(t.url).get(`/api/v1/builds/${done.id}/logs`).set(s.as('root'))).text;
    return { ...done, log } as { status: string; reason: string | null; log: string };
  }

  // A RUN step that prints its network interfaces; the nonce defeats the layer cache.
  const probeDockerfile = () =>
    [
      SCRATCH_DOCKERFILE,
      `RUN echo nonce=${randomBytes(4).toString('hex')}; ` + 'echo "net=$(ls /sys/class/net | tr "\\n" " ")"',
    ].join('\n');

  // BuildKit on dockerd 20.10 gives each RUN step its own unlimited cgroup whatever --memory,
  // --cpu-quota or --cgroup-parent say, so only the network of build steps is asserted here.
  it('gives build steps a network unless the project turns it off', async () => {
    const first = await build({ Dockerfile: probeDockerfile(), '.dockyard.yml': `image: ${s.image}\n` });
    expect([first.status, first.reason]).toEqual(['passed', null]);
    expect(first.log).toMatch(/net=.*eth0/);

    const patched = await request(t.url)
      .patch(`/api/v1/projects/${s.slug}`)
      .set(s.as('root'))
      .send({ buildNetwork: false })
      .expect(200);
    expect(patched.body).toMatchObject({ buildNetwork: false, testOptOuts: true });
    const offline = await build({ Dockerfile: probeDockerfile() });
    expect([offline.status, offline.reason]).toEqual(['passed', null]);
    expect(offline.log).toMatch(/net=lo \n/);
    const audit = (await request(t.url).get(`/api/v1/audit?project=${s.slug}`).set(s.as('root'))).body;
    expect(audit.find((e: { action: string }) => e.action === 'project.settings_changed')).toMatchObject({
      action: 'project.settings_changed',
      actor: 'root',
      detail: { before: { buildNetwork: true }, after: { buildNetwork: false } },
    });
  });

  const probe =
    'echo "uid=$(id -u)"; (echo x > /app/written && echo root=writable) || echo root=read-only; ' +
    '(echo x > /tmp/t && echo tmp=writable); grep -E "^(CapEff|NoNewPrivs)" /proc/self/status';

  it('runs tests as nobody, with no capabilities, no new privileges and a read-only root with a tmpfs /tmp', async () => {
    const b = await build({
      Dockerfile: SCRATCH_DOCKERFILE,
      '.dockyard.yml': `image: ${s.image}\ntest:\n  - name: probe\n    run: '${probe}'\n`,
    });
    expect([b.status, b.reason]).toEqual(['passed', null]);
    expect(b.log).toContain('uid=65534');
    expect(b.log).toContain('root=read-only');
    expect(b.log).toContain('tmp=writable');
    expect(b.log).toMatch(/CapEff:\s+0000000000000000/);
    expect(b.log).toMatch(/NoNewPrivs:\s+1/);
  });

  it("lets a test opt out with user: and readOnly: false, unless the project's settings forbid it", async () => {
    const file = `image: ${s.image}\ntest:\n  - name: privileged\n    user: "0"\n    readOnly: false\n    run: '${probe}'\n`;
    const allowed = await build({ Dockerfile: SCRATCH_DOCKERFILE, '.dockyard.yml': file });
    expect([allowed.status, allowed.reason]).toEqual(['passed', null]);
    expect(allowed.log).toContain('uid=0');
    expect(allowed.log).toContain('root=writable');
    // Still no capabilities and no new privileges, even as root.
    expect(allowed.log).toMatch(/CapEff:\s+0000000000000000/);

    await request(t.url).patch(`/api/v1/projects/${s.slug}`).set(s.as('root')).send({ testOptOuts: false }).expect(200);
    const refused = await build({ '.dockyard.yml': `${file}# again\n` });
    expect(refused.status).toBe('failed');
    expect(refused.reason).toContain('does not allow tests out of their confinement');
    expect(refused.reason).toContain('privileged');
  });

  it('lets only admins change a project’s confinement', async () => {
    await s.user('dev', 'developer', ['read', 'build', 'promote']);
    const res = await request(t.url)
      .patch(`/api/v1/projects/${s.slug}`)
      .set(s.as('dev'))
      .send({ testOptOuts: true })
      .expect(403);
    expect(res.body.message).toContain('admin');
  });
});
