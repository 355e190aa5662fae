import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { TestApp, deliver, registerProject, eventually, pushPayload, startApp } from './support/app';
import { FakeGitHub } from './support/fake-github';
import { GitRepo, SCRATCH_DOCKERFILE } from './support/git-repo';

jest.setTimeout(120_000);

describe('commit statuses as a GitHub App (installation tokens)', () => {
  const github = new FakeGitHub();
  const repo = new GitRepo();
  const owner = `app${randomBytes(3).toString('hex')}`;
  let t: TestApp;

  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    github.app = { id: 4242, installationId: 99, publicKey };
    const url = await github.start();
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    t = await startApp({
      GITHUB_API_URL: url,
      GITHUB_APP_ID: '4242',
      GITHUB_APP_INSTALLATION_ID: '99',
      // As it would sit in a one-line env file.
      GITHUB_APP_PRIVATE_KEY: pem.replace(/\n/g, '\\n'),
    });
    const token = await t.token(['admin']);
    await registerProject(t.url, token, owner, 'web', repo.cloneUrl);
  });

  afterAll(async () => {
    await t?.close();
    await github.stop();
    repo.remove();
  });

  it('trades a signed app JWT for an installation token and publishes statuses with it', async () => {
    const sha = repo.commit({ Dockerfile: SCRATCH_DOCKERFILE, 'app/x': 'x', '.dockyard.yml': `image: ${owner}/web\n` });
    await deliver(t.url, pushPayload(owner, 'web', sha)).expect(202);
    await eventually(async () => github.of(sha, 'dockyard/build').includes('success'), 60_000, 'build status');
    expect(github.installationTokens.length).toBeGreaterThanOrEqual(1);
    const used = new Set(github.statuses.filter((s) => s.sha === sha).map((s) => s.authorization));
    expect(used).toEqual(new Set([`token ${github.installationTokens[0]}`]));
  });
});
