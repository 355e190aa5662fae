import { execFile, spawn } from 'node:child_process';
import { mkdir, access } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';

const run = promisify(execFile);

/** The commit cannot be had: a wrong URL, no access, or a sha the repository does not have. */
export class SourceUnavailableError extends Error {}

/**
 * Source code at an exact commit, from a bare mirror per repository. Nothing from the repository
 * is ever checked out or run on this host: files are read from git's object store and the build
 * context is streamed to Docker as `git archive` output.
 */
@Injectable()
export class GitSource {
  private readonly cacheDir: string;
  private readonly token?: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.cacheDir = path.resolve(config.git.cacheDir);
    this.token = config.git.token;
  }

  /** Make sure `sha` is in the local mirror of cloneUrl; returns the mirror's path. */
  async fetch(cloneUrl: string, sha: string): Promise<string> {
    if (!/^[0-9a-f]{40}$/.test(sha)) throw new SourceUnavailableError(`"${sha}" is not a full commit sha`);
    const dir = path.join(this.cacheDir, mirrorName(cloneUrl));
    try {
      await access(path.join(dir, 'HEAD'));
    } catch {
      await mkdir(dir, { recursive: true });
      await this.git(dir, ['init', '--bare', '--quiet']);
    }
    if (await this.hasCommit(dir, sha)) return dir;
    const auth = this.authArgs(cloneUrl);
    try {
      await this.git(dir, [
        ...auth,
        'fetch',
        '--quiet',
        '--no-tags',
        '--prune',
        cloneUrl,
        '+refs/heads/*:refs/heads/*',
      ]);
    } catch (err) {
      throw new SourceUnavailableError(`git fetch from ${redact(cloneUrl)} failed: ${gitMessage(err)}`);
    }
    if (await this.hasCommit(dir, sha)) return dir;
    // Not on any branch any more (force-pushed away) or a server that only serves it by sha.
    await this.git(dir, [...auth, 'fetch', '--quiet', '--no-tags', cloneUrl, sha]).catch(() => undefined);
    if (await this.hasCommit(dir, sha)) return dir;
    throw new SourceUnavailableError(`commit ${sha} is not in ${redact(cloneUrl)}`);
  }

  /** The commit a ref (refs/heads/x, refs/tags/v1) points at in the remote repository. */
  async resolveRef(cloneUrl: string, ref: string): Promise<string> {
    let stdout: string;
    try {
      ({ stdout } = await this.git(this.cacheDir, [
        ...this.authArgs(cloneUrl),
        'ls-remote',
        cloneUrl,
        ref,
        `${ref}^{}`,
      ]));
    } catch (err) {
      throw new SourceUnavailableError(`git ls-remote ${redact(cloneUrl)} failed: ${gitMessage(err)}`);
    }
    const lines = stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
    // For an annotated tag, the peeled line (^{}) names the commit.
    const found = lines.find(([, name]) => name === `${ref}^{}`) ?? lines.find(([, name]) => name === ref);
    if (!found) throw new SourceUnavailableError(`${ref} does not exist in ${redact(cloneUrl)}`);
    return found[0];
  }

  /**
   * Authors' and committers' e-mails and names of the commits in `to` that are not in `from`
   * (all of `to`'s history when `from` is null or unknown).
   */
  async contributors(mirror: string, from: string | null, to: string): Promise<string[]> {
    const range = from && from !== to ? [`${from}..${to}`] : from === to ? [] : [to];
    if (!range.length) return [];
    const { stdout } = await this.git(mirror, [
      'log',
      '--format=%ae%x09%an%x09%ce%x09%cn',
      '--max-count=1000',
      ...range,
    ]).catch(() => this.git(mirror, ['log', '--format=%ae%x09%an%x09%ce%x09%cn', '--max-count=1000', to]));
    return [...new Set(stdout.split(/[\t\n]/).filter(Boolean))];
  }

  /** A file's text at a commit, or null when the commit has no such file. */
  async readFile(mirror: string, sha: string, file: string): Promise<string | null> {
    try {
      const { stdout } = await this.git(mirror, ['show', `${sha}:${file}`]);
      return stdout;
    } catch {
      return null;
    }
  }

  /** A tar stream of the tree at `sha` (or one of its folders), for a Docker build context. */
  archive(mirror: string, sha: string, context: string): Readable {
    const sub = path.posix.normalize(context).replace(/\/$/, '');
    if (sub === '..' || sub.startsWith('../') || path.posix.isAbsolute(sub))
      throw new SourceUnavailableError(`build context "${context}" leaves the repository`);
    const treeish = sub && sub !== '.' ? `${sha}:${sub}` : sha;
    const child = spawn('git', ['archive', '--format=tar', treeish], {
      cwd: mirror,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      if (code !== 0) child.stdout.destroy(new SourceUnavailableError(`git archive ${treeish}: ${stderr.trim()}`));
    });
    return child.stdout;
  }

  private async hasCommit(dir: string, sha: string): Promise<boolean> {
    return this.git(dir, ['cat-file', '-e', `${sha}^{commit}`]).then(
      () => true,
      () => false,
    );
  }

  private authArgs(cloneUrl: string): string[] {
    if (!this.token || !/^https?:/.test(cloneUrl)) return [];
    const basic = Buffer.from(`x-access-token:${this.token}`).toString('base64');
    return ['-c', `http.extraHeader=Authorization: Basic ${basic}`];
  }

  private async git(cwd: string, args: string[]) {
    await mkdir(cwd, { recursive: true });
    return await run('git', args, {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 10 * 60_000,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' },
    });
  }
}

function mirrorName(cloneUrl: string): string {
  return (
    redact(cloneUrl)
      .replace(/^[a-z]+:\/\//, '')
      .replace(/\.git$/, '')
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .slice(-120) + '.git'
  );
}

function redact(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//');
}

function gitMessage(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim().split('\n').slice(-2).join(' ');
}
