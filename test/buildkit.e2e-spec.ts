import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { DockerEngine } from '@dockyard/docker';
import { RegistryClient } from '@dockyard/registry';
import { TestApp, deliver, eventually, pushPayload, registerProject, startApp } from './support/app';
import { GitRepo } from './support/git-repo';

jest.setTimeout(180_000);

const BASE = ['FROM scratch AS base', 'COPY busybox /bin/busybox', 'RUN ["/bin/busybox", "--install", "-s", "/bin"]'];

describe('BuildKit builds (real Docker Engine and registry)', () => {
  const repo = new GitRepo();
  const owner = `bk${randomBytes(3).toString('hex')}`;
  const image = `${owner}/app`;
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startApp({ TEST_TIMEOUT: '60s' });
    admin = await t.token(['admin']);
    await registerProject(t.url, admin, owner, 'app', repo.cloneUrl);
  });

  afterAll(async () => {
    await t?.close();
    repo.remove();
  });

  const get = (path: string) => request(t.url).get(path).set('Authorization', `Bearer ${admin}`);

  async function build(files: Record<string, string | null>, branch = 'main') {
    const sha = repo.commit(files, 'change', branch);
    const { buildId } = (await deliver(t.url, pushPayload(owner, 'app', sha, branch)).expect(202)).body;
    return finished(buildId);
  }

  function finished(buildId: string) {
    return eventually(
      async () => {
        const b = (await get(`/api/v1/builds/${buildId}`)).body;
        return !['queued', 'running'].includes(b.status) && b;
      },
      120_000,
      `build ${buildId}`,
    );
  }

  const logs = async (buildId: string) => (await get(`/api/v1/builds/${buildId}/logs`)).text;
  const pipeline = (extra = '', run = 'true') =>
    `image: ${image}\n${extra}test:\n  - name: check\n    run: ${JSON.stringify(run)}\n`;

  it('keeps a cache mount between builds (RUN --mount=type=cache)', async () => {
    const cache = `/cache-${randomBytes(4).toString('hex')}`;
    const files = (n: number) => ({
      Dockerfile: [
        ...BASE,
        `RUN echo ${n} > /n`,
        `RUN --mount=type=cache,target=${cache} echo run >> ${cache}/runs && wc -l < ${cache}/runs > /runs`,
      ].join('\n'),
      '.dockyard.yml': pipeline('', 'echo "runs=$(cat /runs)"'),
    });
    const first = await build(files(1));
    expect(first).toMatchObject({ status: 'passed', reason: null });
    expect(await logs(first.id)).toContain('runs=1');
    const second = await build(files(2));
    expect(second).toMatchObject({ status: 'passed', reason: null });
    expect(await logs(second.id)).toContain('runs=2');
  });

  it('leaves out what .dockerignore lists', async () => {
    const b = await build({
      Dockerfile: [...BASE, 'COPY . /src'].join('\n'),
      '.dockerignore': 'secret.txt\n*.log\n',
      'secret.txt': 'do not ship me\n',
      'debug.log': 'noise\n',
      'kept.txt': 'kept\n',
      '.dockyard.yml': pipeline(
        '',
        'ls /src; test -e /src/kept.txt && test ! -e /src/secret.txt && test ! -e /src/debug.log',
      ),
    });
    expect(b).toMatchObject({ status: 'passed', reason: null });
    expect(await logs(b.id)).toContain('kept.txt');
  });

  it('builds the target stage with build args from .dockyard.yml, labels without extra steps', async () => {
    const b = await build({
      Dockerfile: [
        ...BASE,
        'FROM base AS final',
        'ARG GREETING=unset',
        'RUN echo "$GREETING" > /greeting',
        'FROM final AS broken',
        'RUN exit 7',
      ].join('\n'),
      '.dockerignore': null,
      '.dockyard.yml': pipeline(
        'build:\n  target: final\n  args: { GREETING: hello-target }\n',
        'test "$(cat /greeting)" = hello-target',
      ),
    });
    expect(b).toMatchObject({ status: 'passed', reason: null });
    const docker = t.app.get(DockerEngine).docker;
    const registry = t.app.get(RegistryClient);
    const info = await docker.getImage(`${registry.engineRef(image)}:sha-${b.sha.slice(0, 12)}`).inspect();
    expect(info.Config.Labels).toMatchObject({
      'org.opencontainers.image.revision': b.sha,
      'org.opencontainers.image.source': repo.cloneUrl,
      'org.opencontainers.image.created': expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      'dev.dockyard.build': b.id,
    });
    const history = await docker.getImage(info.Id).history();
    expect(history.map((h: { CreatedBy: string }) => h.CreatedBy).join('\n')).not.toMatch(/LABEL/);
    // The inline cache rides in the image config, for other engines' --cache-from.
    const manifest = (await registry.getManifest(image, b.image.digest))!;
    const config = (await (
      await fetch(`${registry.url}/v2/${image}/blobs/${manifest.json.config!.digest}`)
    ).json()) as Record<string, unknown>;
    expect(config['moby.buildkit.cache.v0']).toEqual(expect.any(String));
  });

  it("refuses a build.dockerfile outside the build context: the CLI would read it from the worker's disk", async () => {
    // In the repository, a/b/c/d/../../../../etc/passwd is its own etc/passwd; from the worker's
    // unpacked context (/tmp/dockyard-context-…) the same path climbs to the host's /etc/passwd.
    const b = await build({
      Dockerfile: BASE.join('\n'),
      'a/b/c/d/app.txt': 'app\n',
      'etc/passwd': 'FROM scratch\n',
      '.dockyard.yml': pipeline('build:\n  context: a/b/c/d\n  dockerfile: ../../../../etc/passwd\n'),
    });
    expect(b.status).toBe('failed');
    expect(b.reason).toBe('build.dockerfile ../../../../etc/passwd is outside the build context a/b/c/d');
    expect(await logs(b.id)).not.toMatch(/root:x:0:0/i);

    // A folder of the repository that is a symlink to the host's /etc leads out just the same.
    symlinkSync('/etc', path.join(repo.dir, 'hostetc'));
    const linked = await build({
      'etc/passwd': null,
      '.dockyard.yml': pipeline('build:\n  dockerfile: hostetc/passwd\n'),
    });
    expect(linked.reason).toBe('build.dockerfile hostetc/passwd is outside the build context .');
    expect(await logs(linked.id)).not.toMatch(/root:x:0:0/i);

    const missing = await build({
      hostetc: null,
      '.dockyard.yml': pipeline('build:\n  dockerfile: nope/Dockerfile\n'),
    });
    expect(missing.status).toBe('failed');
    expect(missing.reason).toBe(`nope/Dockerfile does not exist at ${missing.sha.slice(0, 12)}`);
  });

  it('fails a Dockerfile syntax error with the line and the reason (failed, not error)', async () => {
    const b = await build({
      Dockerfile: ['FROM scratch', 'COPY busybox /bin/busybox', 'FROMM nothing'].join('\n'),
      '.dockyard.yml': pipeline(),
    });
    expect(b.status).toBe('failed');
    expect(b.reason).toBe('docker build failed: Dockerfile line 3: unknown instruction: FROMM');
    expect(await logs(b.id)).not.toMatch(/HTTP code 400|will retry/);
  });

  it('fails a "# syntax=" frontend that cannot be pulled, naming it', async () => {
    const b = await build({
      Dockerfile: ['# syntax=docker/dockerfile:1.99', ...BASE].join('\n'),
      '.dockyard.yml': pipeline(),
    });
    expect(b.status).toBe('failed');
    expect(b.reason).toMatch(/"# syntax=" frontend docker\.io\/docker\/dockerfile:1\.99 cannot be pulled/);
  });

  it('stops the docker CLI when the build is cancelled', async () => {
    const sha = repo.commit({
      Dockerfile: [...BASE, `RUN echo ${randomBytes(4).toString('hex')} && sleep 120`].join('\n'),
      '.dockyard.yml': pipeline(),
    });
    const { buildId } = (await deliver(t.url, pushPayload(owner, 'app', sha)).expect(202)).body;
    await eventually(async () => cliProcesses(buildId).length > 0, 60_000, 'the docker CLI to run');
    await request(t.url).post(`/api/v1/builds/${buildId}/cancel`).set('Authorization', `Bearer ${admin}`).expect(201);
    await eventually(async () => cliProcesses(buildId).length === 0, 15_000, 'the docker CLI to end');
    expect((await finished(buildId)).status).toBe('cancelled');
  });
});

/** Processes whose command line names this build (the CLI carries it in a --label). */
function cliProcesses(buildId: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`dev.dockyard.build=${buildId}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}
