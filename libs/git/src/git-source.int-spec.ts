import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@dockyard/config';
import { GitSource, SourceUnavailableError } from './git-source';

describe('GitSource against real git repositories', () => {
  const origin = mkdtempSync(path.join(tmpdir(), 'dockyard-origin-'));
  const cache = mkdtempSync(path.join(tmpdir(), 'dockyard-cache-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: origin, encoding: 'utf8' }).trim();
  const source = new GitSource(loadConfig({ ...process.env, GIT_CACHE_DIR: cache }));
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
    const mirror = await source.fetch(origin, first);
    expect(await source.readFile(mirror, first, 'README')).toBe('one\n');
    expect(await source.readFile(mirror, second, 'README')).toBe('two\n');
    expect(await source.readFile(mirror, first, '.dockyard.yml')).toBeNull();
  });

  it('streams a folder of a commit as a tar build context', async () => {
    const mirror = await source.fetch(origin, first);
    const chunks: Buffer[] = [];
    for await (const chunk of source.archive(mirror, first, './web')) chunks.push(chunk as Buffer);
    const tar = Buffer.concat(chunks).toString('latin1');
    expect(tar).toContain('Dockerfile');
    expect(tar).not.toContain('README');
  });

  it('resolves branches and annotated tags to commits', async () => {
    expect(await source.resolveRef(origin, 'refs/heads/main')).toBe(second);
    expect(await source.resolveRef(origin, 'refs/tags/v1')).toBe(first);
    await expect(source.resolveRef(origin, 'refs/heads/nope')).rejects.toThrow(/does not exist/);
  });

  it('refuses a commit the repository does not have, and a context outside it', async () => {
    await expect(source.fetch(origin, 'f'.repeat(40))).rejects.toThrow(SourceUnavailableError);
    await expect(source.fetch(origin, 'main')).rejects.toThrow(/not a full commit sha/);
    const mirror = await source.fetch(origin, first);
    expect(() => source.archive(mirror, first, '../etc')).toThrow(/leaves the repository/);
  });
});
