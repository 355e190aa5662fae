import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import request from 'supertest';
import { DockerEngine } from '@dockyard/docker';
import { RegistryClient } from '@dockyard/registry';
import { TestApp, deliver, eventually, pushPayload, registerProject, startApp } from './support/app';
import { GitRepo } from './support/git-repo';

jest.setTimeout(180_000);

const BASE = ['FROM scratch', 'COPY busybox /bin/busybox', 'RUN ["/bin/busybox", "--install", "-s", "/bin"]'];

describe('build secrets: RUN --mount=type=secret gets the project’s secrets, nothing keeps them', () => {
  const repo = new GitRepo();
  const owner = `sec${randomBytes(3).toString('hex')}`;
  const value = `s3cr3t-${randomBytes(12).toString('hex')}`;
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    t = await startApp({ SECRETS_KEY: randomBytes(32).toString('base64') });
    admin = await t.token(['admin']);
    await registerProject(t.url, admin, owner, 'web', repo.cloneUrl);
    await request(t.url)
      .put(`/api/v1/projects/${owner}/web/secrets/NPM_TOKEN`)
      .set('Authorization', `Bearer ${admin}`)
      .send({ value })
      .expect(200);
  });

  afterAll(async () => {
    await t?.close();
    repo.remove();
  });

  const get = (path: string) => request(t.url).get(path).set('Authorization', `Bearer ${admin}`);
  const finished = (buildId: string) =>
    eventually(
      async () => {
        const b = (await get(`/api/v1/builds/${buildId}`)).body;
        return !['queued', 'running'].includes(b.status) && b;
      },
      120_000,
      `build ${buildId}`,
    );

  it('hands the secret to the step, and keeps it out of the layers, the log and the API', async () => {
    const digest = createHash('sha256').update(value).digest('hex');
    const sha = repo.commit({
      Dockerfile: [
        ...BASE,
        // Printing it is the author's slip: the log must still not show it.
        `RUN --mount=type=secret,id=NPM_TOKEN echo ${randomBytes(4).toString('hex')}; cat /run/secrets/NPM_TOKEN; echo; ` +
          'sha256sum /run/secrets/NPM_TOKEN | cut -c1-64 > /token.sha256',
      ].join('\n'),
      '.dockyard.yml': `image: ${owner}/web\ntest:\n  - name: got-it\n    run: test "$(cat /token.sha256)" = ${digest}\n`,
    });
    const { buildId } = (await deliver(t.url, pushPayload(owner, 'web', sha)).expect(202)).body;
    const build = await finished(buildId);
    expect([build.status, build.reason]).toEqual(['passed', null]);

    const log = (await get(`/api/v1/builds/${buildId}/logs`)).text;
    expect(log).toContain('***');
    expect(log).not.toContain(value);
    expect(JSON.stringify(build)).not.toContain(value);
    expect((await get(`/api/v1/projects/${owner}/web/secrets`)).text).not.toContain(value);

    // The whole image as `docker save` writes it: every layer, the config and its history.
    const docker = t.app.get(DockerEngine).docker;
    const ref = `${t.app.get(RegistryClient).engineRef(`${owner}/web`)}@${build.image.digest}`;
    const chunks: Buffer[] = [];
    for await (const chunk of await docker.getImage(ref).get()) chunks.push(chunk as Buffer);
    const saved = Buffer.concat(chunks);
    expect(saved.length).toBeGreaterThan(500_000);
    expect(saved.includes(Buffer.from(value))).toBe(false);
    const history = await docker.getImage(ref).history();
    expect(JSON.stringify(history)).not.toContain(value);
  });

  it('gives a pull request from a fork no secrets', async () => {
    const head = repo.commit(
      {
        Dockerfile: [
          ...BASE,
          `RUN --mount=type=secret,id=NPM_TOKEN echo ${randomBytes(4).toString('hex')}; ` +
            'if test -s /run/secrets/NPM_TOKEN; then echo secret=present; else echo secret=absent; fi',
        ].join('\n'),
        '.dockyard.yml': `image: ${owner}/web\n`,
      },
      'from a fork',
      'fork-tmp',
    );
    execFileSync('git', ['update-ref', 'refs/pull/3/head', head], { cwd: repo.dir });
    const payload = {
      action: 'opened',
      number: 3,
      pull_request: {
        title: 'please merge',
        user: { login: 'mallory' },
        head: { sha: head, ref: 'main', repo: { full_name: 'mallory/web' } },
        base: { ref: 'main', repo: { full_name: `${owner}/web` } },
      },
      repository: { name: 'web', full_name: `${owner}/web`, owner: { login: owner } },
    };
    const { buildId } = (await deliver(t.url, payload, { event: 'pull_request' }).expect(202)).body;
    const build = await finished(buildId);
    expect([build.status, build.fromFork]).toEqual(['passed', true]);
    const log = (await get(`/api/v1/builds/${buildId}/logs`)).text;
    expect(log).toContain('secret=absent');
    expect(log).toContain('comes from a fork: the build gets no secrets');
  });
});
