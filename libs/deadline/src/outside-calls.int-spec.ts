import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@dockyard/config';
import { GitSource } from '@dockyard/git';
import { GitHubStatuses } from '@dockyard/github';
import { RegistryClient } from '@dockyard/registry';
import { silentServer } from '../../../test/support/net';
import { CancelledError, DeadlineExceededError } from './index';

/**
 * Registry, git and GitHub calls against a peer that accepts connections and never answers: each
 * ends within its deadline with a named error, and a caller's signal ends it sooner. (They used to
 * wait 60 s, 10 min, or for good.)
 */
describe('deadlines and cancellation on registry, git and GitHub calls', () => {
  let peer: Awaited<ReturnType<typeof silentServer>>;
  const cache = mkdtempSync(path.join(tmpdir(), 'dockyard-git-'));

  beforeAll(async () => {
    peer = await silentServer();
  });

  afterAll(async () => {
    await peer.close();
    rmSync(cache, { recursive: true, force: true });
  });

  const config = (env: Record<string, string>) =>
    loadConfig({
      ...process.env,
      REGISTRY_URL: peer.url,
      GITHUB_API_URL: peer.url,
      GITHUB_TOKEN: 'ghp_test',
      GIT_CACHE_DIR: cache,
      ...env,
    });

  /** How long `work` took to fail, and with what. */
  async function failure(work: Promise<unknown>): Promise<{ ms: number; err: Error }> {
    const started = Date.now();
    const err = await work.then(
      () => new Error('it answered'),
      (e: Error) => e,
    );
    return { ms: Date.now() - started, err };
  }

  /** Cancels after 300 ms. */
  function cancelSoon(): AbortSignal {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    return ac.signal;
  }

  it('registry: a promotion copy ends at REGISTRY_TIMEOUT, or when cancelled', async () => {
    const registry = new RegistryClient(config({ REGISTRY_TIMEOUT: '1s' }));
    const late = await failure(registry.copy('a/web', `sha256:${'1'.repeat(64)}`, 'a/web', 'test'));
    expect(late.err).toBeInstanceOf(DeadlineExceededError);
    expect(late.err.message).toMatch(/^registry copy a\/web@sha256:1+ to a\/web:test: no answer within 1000 ms$/);
    expect(late.ms).toBeLessThan(4_000);

    const patient = new RegistryClient(config({ REGISTRY_TIMEOUT: '60s' }));
    const cancelled = await failure(patient.getManifest('a/web', 'dev', cancelSoon()));
    expect(cancelled.err).toBeInstanceOf(CancelledError);
    expect(cancelled.ms).toBeLessThan(3_000);
  });

  it('git: a fetch from a server that hangs is killed at GIT_TIMEOUT, or when cancelled', async () => {
    // git reaches the peer over https (plain http is not an allowed transport): the TLS handshake hangs.
    const cloneUrl = `https://127.0.0.1:${peer.port}/acme/web.git`;
    const git = new GitSource(config({ GIT_TIMEOUT: '1s' }));
    const project = { id: randomUUID(), cloneUrl };
    const late = await failure(git.fetch(project, 'a'.repeat(40)));
    expect(late.err).toBeInstanceOf(DeadlineExceededError);
    expect(late.err.message).toBe(`git fetch ${cloneUrl}: no answer within 1000 ms`);
    expect(late.ms).toBeLessThan(4_000);

    const patient = new GitSource(config({ GIT_TIMEOUT: '10m' }));
    const cancelled = await failure(patient.branchHeads(cloneUrl, cancelSoon()));
    expect(cancelled.err).toBeInstanceOf(CancelledError);
    expect(cancelled.ms).toBeLessThan(3_000);
  });

  it('GitHub: a commit status ends at GITHUB_TIMEOUT (it used to wait for good)', async () => {
    const github = new GitHubStatuses(config({ GITHUB_TIMEOUT: '1s' }));
    const late = await failure(
      github.publish({
        owner: 'acme',
        repo: 'web',
        sha: 'a'.repeat(40),
        context: 'dockyard/build',
        state: 'pending',
        description: 'building',
        targetUrl: 'http://127.0.0.1/builds/1',
      }),
    );
    expect(late.err.message).toBe(`GitHub POST /repos/acme/web/statuses/${'a'.repeat(40)}: no answer within 1000 ms`);
    expect(late.ms).toBeLessThan(4_000);
  }, 10_000);
});
