import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@dockyard/config';
import { GitSource, SourceUnavailableError, tokenConfig } from './git-source';

describe('GitSource against real git repositories', () => {
  const origin = mkdtempSync(path.join(tmpdir(), 'dockyard-origin-'));
  const cache = mkdtempSync(path.join(tmpdir(), 'dockyard-cache-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: origin, encoding: 'utf8' }).trim();
  const source = new GitSource(loadConfig({ ...process.env, GIT_CACHE_DIR: cache, GIT_ALLOW_FILE_URLS: 'true' }));
  const project = { id: randomUUID(), cloneUrl: `file://${origin}` };
  let first: string;
  let second: string;

  beforeAll(() => {
    git('init', '--quiet', '--initial-branch=main');
    git('config', 'user.email', 'a@example.com');
    git('config', 'user.name', 'a');
    writeFileSync(path.join(origin, 'README'), 'one\n');
    execFileSync('mkdir', ['-p', path.join(origin, 'web')]);
    writeFileSync(path.join(origin, 'web/Dockerfile'), 'FROM scratch\n');
    git('add', '-A');
    git('commit', '--quiet', '-m', 'one');
    first = git('rev-parse', 'HEAD');
    writeFileSync(path.join(origin, 'README'), 'two\n');
    git('commit', '--quiet', '-am', 'two');
    second = git('rev-parse', 'HEAD');
    git('tag', '-a', 'v1', '-m', 'v1', first);
  });

  afterAll(() => {
    rmSync(origin, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  });

  it('reads files at an exact commit from a bare mirror', async () => {
    const mirror = await source.fetch(project, first);
    expect(await source.readFile(mirror, first, 'README')).toBe('one\n');
    expect(await source.readFile(mirror, second, 'README')).toBe('two\n');
    expect(await source.readFile(mirror, first, '.dockyard.yml')).toBeNull();
  });

  it('streams a folder of a commit as a tar build context', async () => {
    const mirror = await source.fetch(project, first);
    const chunks: Buffer[] = [];
    for await (const chunk of source.archive(mirror, first, './web')) chunks.push(chunk as Buffer);
    const tar = Buffer.concat(chunks).toString('latin1');
    expect(tar).toContain('Dockerfile');
    expect(tar).not.toContain('README');
  });

  it('resolves branches and annotated tags to commits', async () => {
    expect(await source.resolveRef(project.cloneUrl, 'refs/heads/main')).toBe(second);
    expect(await source.resolveRef(project.cloneUrl, 'refs/tags/v1')).toBe(first);
    await expect(source.resolveRef(project.cloneUrl, 'refs/heads/nope')).rejects.toThrow(/does not exist/);
  });

  it('refuses a commit the repository does not have, and a context outside it', async () => {
    await expect(source.fetch(project, 'f'.repeat(40))).rejects.toThrow(SourceUnavailableError);
    await expect(source.fetch(project, 'main')).rejects.toThrow(/not a full commit sha/);
    const mirror = await source.fetch(project, first);
    expect(() => source.archive(mirror, first, '../etc')).toThrow(/leaves the repository/);
  });

  // Issue 8, finding 6.
  it('passes a URL that looks like an option to git as a URL, never as an option', async () => {
    const marker = path.join(cache, 'upload-pack-ran');
    const hostile = { id: randomUUID(), cloneUrl: `--upload-pack=touch ${marker}` };
    await expect(source.fetch(hostile, first)).rejects.toThrow(SourceUnavailableError);
    await expect(source.resolveRef(hostile.cloneUrl, 'refs/heads/main')).rejects.toThrow(SourceUnavailableError);
    expect(existsSync(marker)).toBe(false);
    await expect(source.resolveRef(project.cloneUrl, '--upload-pack=x')).rejects.toThrow(
      /not a branch, tag or pull request head/,
    );
  });

  it("keeps one mirror per project: another project's commit is not built from a shared mirror", async () => {
    // Two remotes whose URLs end alike, as a/<long name>/web and b/<long name>/web.
    const long = 'x'.repeat(130);
    const other = path.join(mkdtempSync(path.join(tmpdir(), 'dockyard-other-')), 'b', long, 'web');
    mkdirSync(other, { recursive: true });
    const at = (...args: string[]) => execFileSync('git', args, { cwd: other, encoding: 'utf8' }).trim();
    at('init', '--quiet', '--initial-branch=main');
    at('-c', 'user.email=b@example.com', '-c', 'user.name=b', 'commit', '--quiet', '--allow-empty', '-m', 'b');
    const a = path.join(path.dirname(path.dirname(path.dirname(other))), 'a', long, 'web');
    mkdirSync(path.dirname(a), { recursive: true });
    execFileSync('git', ['clone', '--quiet', '--bare', origin, a]);
    await source.fetch({ id: randomUUID(), cloneUrl: `file://${a}` }, first);
    await expect(source.fetch({ id: randomUUID(), cloneUrl: `file://${other}` }, first)).rejects.toThrow(
      /is not on any branch or tag/,
    );
  });

  it('builds a commit only while the remote still has it, not because the mirror kept it', async () => {
    git('commit', '--quiet', '--allow-empty', '-m', 'dropped');
    const dropped = git('rev-parse', 'HEAD');
    await source.fetch(project, dropped);
    git('reset', '--quiet', '--hard', second);
    await expect(source.fetch(project, dropped)).rejects.toThrow(/is not on any branch or tag/);
    expect(await source.fetch(project, second)).toContain(project.id);
  });

  it('shares a fetch that started after the push was announced, and fetches afresh for a later push', async () => {
    const fresh = { id: randomUUID(), cloneUrl: project.cloneUrl };
    const fetches = jest.spyOn(source as unknown as { fetchRemote(...a: unknown[]): Promise<void> }, 'fetchRemote');
    try {
      const announced = new Date(Date.now() - 1);
      const both = await Promise.all([
        source.fetch(fresh, second, undefined, announced),
        source.fetch(fresh, second, undefined, announced),
      ]);
      expect(both[0]).toBe(both[1]);
      expect(fetches).toHaveBeenCalledTimes(1);

      // A push after that fetch started: its build must see the remote again.
      git('commit', '--quiet', '--allow-empty', '-m', 'later');
      const later = git('rev-parse', 'HEAD');
      await new Promise((resolve) => setTimeout(resolve, 2));
      await source.fetch(fresh, later, undefined, new Date());
      expect(fetches).toHaveBeenCalledTimes(2);
      // Nor is a commit the remote dropped since trusted because an earlier fetch saw it.
      git('reset', '--quiet', '--hard', second);
      await new Promise((resolve) => setTimeout(resolve, 2));
      await expect(source.fetch(fresh, later, undefined, new Date())).rejects.toThrow(/is not on any branch or tag/);
    } finally {
      fetches.mockRestore();
    }
  });

  it('sends GIT_TOKEN only to the configured host, over https, never across a redirect', () => {
    expect(tokenConfig('https://github.com/acme/web.git', 't0ken', 'github.com')).toEqual([
      ['http.extraHeader', `Authorization: Basic ${Buffer.from('x-access-token:t0ken').toString('base64')}`],
      ['http.followRedirects', 'false'],
    ]);
    expect(tokenConfig('http://github.com/acme/web.git', 't0ken', 'github.com')).toEqual([]);
    expect(tokenConfig('https://evil.example/acme/web.git', 't0ken', 'github.com')).toEqual([]);
    expect(tokenConfig('https://github.com.evil.example/x.git', 't0ken', 'github.com')).toEqual([]);
    expect(tokenConfig('git@github.com:acme/web.git', 't0ken', 'github.com')).toEqual([]);
  });
});
