import { execFile, spawn } from 'node:child_process';
import { mkdir, access } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { CancelledError, DeadlineExceededError } from '@dockyard/deadline';
import { PULL_REQUEST_HEAD, isBuildableRef, redactUrl } from './clone-url';

const run = promisify(execFile);

/** The commit cannot be had: a wrong URL, no access, or a sha the repository does not have. */
export class SourceUnavailableError extends Error {}

/**
 * Source code at an exact commit, from a bare mirror per repository. Nothing from the repository
 * is ever run on this host: files are read from git's object store, and the build context is
 * `git archive` output unpacked into a directory of its own for the docker CLI. Every git command
 * has a deadline (GIT_TIMEOUT; then it is killed) and takes a signal that kills it sooner.
 */
@Injectable()
export class GitSource {
  private readonly cacheDir: string;
  private readonly token?: string;
  private readonly tokenHost: string;
  private readonly allowFile: boolean;
  private readonly timeout: number;
  /** Each mirror's latest fetch (per pull request ref): when it started, and its end. */
  private readonly fetches = new Map<string, { startedAt: number; done: Promise<void> }>();
  private readonly creating = new Map<string, Promise<void>>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.cacheDir = path.resolve(config.git.cacheDir);
    this.token = config.git.token;
    this.tokenHost = config.git.tokenHost;
    this.allowFile = config.git.allowFileUrls;
    this.timeout = config.git.timeout;
  }

  /**
   * Fetch the project's remote into its own mirror (one per project) and make sure `sha` is on one
   * of the remote's branches or tags now: a commit merely present in a mirror is never trusted.
   * Returns the mirror's path. A pull request's head counts when `ref` names it (refs/pull/N/head).
   * `notBefore` (when the push was announced): a fetch of the mirror that started at or after it
   * shows the remote as it was after the push, so builds of pushes that arrive together share one
   * fetch instead of each packing the repository again; without it, this call fetches afresh.
   * `signal` stops this caller's wait (a fetch others share goes on, under GIT_TIMEOUT).
   */
  async fetch(project: GitProject, sha: string, ref?: string, notBefore?: Date, signal?: AbortSignal): Promise<string> {
    if (!/^[0-9a-f]{40}$/.test(sha)) throw new SourceUnavailableError(`"${sha}" is not a full commit sha`);
    const dir = await this.mirror(project);
    const pull = ref && PULL_REQUEST_HEAD.test(ref) ? ref : null;
    const key = `${dir} ${project.cloneUrl} ${pull ?? ''}`;
    const last = this.fetches.get(key);
    const fresh = last !== undefined && notBefore !== undefined && last.startedAt >= notBefore.getTime();
    // A shared fetch that failed proves nothing: this call then fetches for itself.
    if (
      !fresh ||
      !(await last.done.then(
        () => true,
        () => false,
      ))
    ) {
      const current = { startedAt: Date.now(), done: this.fetchRemote(dir, project.cloneUrl, pull) };
      this.fetches.set(key, current);
      current.done.catch(() => {
        if (this.fetches.get(key) === current) this.fetches.delete(key);
      });
      await untilCancelled(current.done, signal, `git fetch ${redactUrl(project.cloneUrl)}`);
    }
    if (!(await this.onSomeRef(dir, sha, pull))) {
      throw new SourceUnavailableError(`commit ${sha} is not on any branch or tag of ${redactUrl(project.cloneUrl)}`);
    }
    return dir;
  }

  private async fetchRemote(dir: string, cloneUrl: string, pull: string | null): Promise<void> {
    try {
      await this.git(
        dir,
        [
          'fetch',
          '--quiet',
          '--no-tags',
          '--prune',
          '--',
          cloneUrl,
          '+refs/heads/*:refs/heads/*',
          '+refs/tags/*:refs/tags/*',
          ...(pull ? [`+${pull}:${pull}`] : []),
        ],
        cloneUrl,
      );
    } catch (err) {
      if (err instanceof DeadlineExceededError) throw err;
      throw new SourceUnavailableError(`git fetch from ${redactUrl(cloneUrl)} failed: ${gitMessage(err)}`);
    }
  }

  /** The project's mirror holding `sha`, fetched only when it lacks it (for reading history, not for builds). */
  async mirrorWith(project: GitProject, sha: string): Promise<string> {
    const dir = await this.mirror(project);
    return (await this.hasCommit(dir, sha)) ? dir : this.fetch(project, sha);
  }

  /** The commit a ref (refs/heads/x, refs/tags/v1, refs/pull/N/head) points at in the remote repository. */
  async resolveRef(cloneUrl: string, ref: string, signal?: AbortSignal): Promise<string> {
    if (!isBuildableRef(ref)) throw new SourceUnavailableError(`"${ref}" is not a branch, tag or pull request head`);
    let stdout: string;
    try {
      ({ stdout } = await this.git(this.cacheDir, ['ls-remote', '--', cloneUrl, ref, `${ref}^{}`], cloneUrl, signal));
    } catch (err) {
      if (stopped(err)) throw err;
      throw new SourceUnavailableError(`git ls-remote ${redactUrl(cloneUrl)} failed: ${gitMessage(err)}`);
    }
    const lines = stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
    // For an annotated tag, the peeled line (^{}) names the commit.
    const found = lines.find(([, name]) => name === `${ref}^{}`) ?? lines.find(([, name]) => name === ref);
    if (!found) throw new SourceUnavailableError(`${ref} does not exist in ${redactUrl(cloneUrl)}`);
    return found[0];
  }

  /**
   * Whether `sha` is on `ref` in the remote as fetched now: the ref's tip or one of its ancestors.
   * False when the commit or the ref does not exist.
   */
  async isOnRef(project: GitProject, sha: string, ref: string, signal?: AbortSignal): Promise<boolean> {
    if (!isBuildableRef(ref)) throw new SourceUnavailableError(`"${ref}" is not a branch, tag or pull request head`);
    if (!/^[0-9a-f]{40}$/.test(sha)) throw new SourceUnavailableError(`"${sha}" is not a full commit sha`);
    const dir = await this.mirror(project);
    await untilCancelled(
      this.fetchRemote(dir, project.cloneUrl, PULL_REQUEST_HEAD.test(ref) ? ref : null),
      signal,
      `git fetch ${redactUrl(project.cloneUrl)}`,
    );
    return this.git(dir, ['merge-base', '--is-ancestor', '--end-of-options', sha, ref], undefined, signal).then(
      () => true,
      (err) => {
        if (stopped(err)) throw err;
        return false;
      },
    );
  }

  /** Every branch of the remote repository and the commit it points at (`git ls-remote --heads`). */
  async branchHeads(cloneUrl: string, signal?: AbortSignal): Promise<Map<string, string>> {
    let stdout: string;
    try {
      ({ stdout } = await this.git(this.cacheDir, ['ls-remote', '--heads', '--', cloneUrl], cloneUrl, signal));
    } catch (err) {
      if (stopped(err)) throw err;
      throw new SourceUnavailableError(`git ls-remote ${redactUrl(cloneUrl)} failed: ${gitMessage(err)}`);
    }
    const heads = new Map<string, string>();
    for (const line of stdout.split('\n')) {
      const [sha, ref] = line.split('\t');
      if (sha && ref?.startsWith('refs/heads/')) heads.set(ref.slice('refs/heads/'.length), sha);
    }
    return heads;
  }

  /**
   * Every commit in `to` that is not in `from` (all of `to`'s history when `from` is null), with the
   * e-mails and names of their authors and committers: one `git log` over the whole range, no cap.
   * Errors are thrown, never swallowed: whoever asks must not take "unreadable" for "nobody".
   */
  async history(mirror: string, from: string | null, to: string): Promise<{ commits: Set<string>; people: string[] }> {
    for (const sha of [from, to]) {
      if (sha !== null && !/^[0-9a-f]{40}$/.test(sha))
        throw new SourceUnavailableError(`"${sha}" is not a full commit sha`);
    }
    if (from === to) return { commits: new Set(), people: [] };
    const range = from ? `${from}..${to}` : to;
    const { stdout } = await this.git(mirror, [
      'log',
      '--no-show-signature',
      '--format=%H%x09%ae%x09%an%x09%ce%x09%cn',
      '--end-of-options',
      range,
      '--',
    ]);
    const commits = new Set<string>();
    const people = new Set<string>();
    for (const line of stdout.split('\n')) {
      if (!line) continue;
      const [sha, ...who] = line.split('\t');
      commits.add(sha);
      for (const w of who) if (w) people.add(w);
    }
    return { commits, people: [...people] };
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
  archive(mirror: string, sha: string, context: string, signal?: AbortSignal): Readable {
    const sub = path.posix.normalize(context).replace(/\/$/, '');
    if (sub === '..' || sub.startsWith('../') || path.posix.isAbsolute(sub))
      throw new SourceUnavailableError(`build context "${context}" leaves the repository`);
    const treeish = sub && sub !== '.' ? `${sha}:${sub}` : sha;
    const child = spawn('git', ['archive', '--format=tar', treeish], {
      cwd: mirror,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
      timeout: this.timeout,
      killSignal: 'SIGKILL',
    });
    child.on('error', (err) => child.stdout.destroy(err));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      if (code !== 0) child.stdout.destroy(new SourceUnavailableError(`git archive ${treeish}: ${stderr.trim()}`));
    });
    return child.stdout;
  }

  /** The project's own bare mirror, keyed by its id: two projects never share one. */
  private async mirror(project: GitProject): Promise<string> {
    if (!/^[0-9a-f-]{36}$/.test(project.id)) throw new SourceUnavailableError(`"${project.id}" is not a project id`);
    const dir = path.join(this.cacheDir, `${project.id}.git`);
    let creating = this.creating.get(dir);
    if (!creating) {
      // One `git init` per mirror: two first builds of a project at once would fight over its config.
      creating = access(path.join(dir, 'HEAD')).catch(async () => {
        await mkdir(dir, { recursive: true });
        await this.git(dir, ['init', '--bare', '--quiet']);
      });
      this.creating.set(dir, creating);
      void creating.finally(() => this.creating.delete(dir)).catch(() => undefined);
    }
    await creating;
    return dir;
  }

  /** Unpack the tree at `sha` (or one of its folders) into `dir`, for a build context. */
  async export(mirror: string, sha: string, context: string, dir: string, signal?: AbortSignal): Promise<void> {
    await mkdir(dir, { recursive: true });
    const tar = spawn('tar', ['-x', '--no-same-owner', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const archive = this.archive(mirror, sha, context, signal);
    const failed = new Promise<never>((_, reject) =>
      archive.on('error', (err) => {
        tar.kill('SIGKILL');
        reject(err);
      }),
    );
    archive.pipe(tar.stdin);
    const code = await Promise.race([new Promise<number | null>((resolve) => tar.on('close', resolve)), failed]);
    if (code !== 0) throw new SourceUnavailableError(`unpacking ${sha.slice(0, 12)}: ${stderr.trim()}`);
  }

  private async hasCommit(dir: string, sha: string): Promise<boolean> {
    return this.git(dir, ['cat-file', '-e', `${sha}^{commit}`]).then(
      () => true,
      () => false,
    );
  }

  /** Whether a branch or tag just fetched from the remote contains the commit (git refuses a commit it lacks). */
  private async onSomeRef(dir: string, sha: string, pull: string | null): Promise<boolean> {
    return this.git(dir, [
      'for-each-ref',
      '--count=1',
      `--contains=${sha}`,
      'refs/heads',
      'refs/tags',
      ...(pull ? [pull] : []),
    ]).then(
      ({ stdout }) => stdout.trim().length > 0,
      () => false,
    );
  }

  /**
   * git, with no prompts, only the transports Dockyard allows, and GIT_TOKEN (as configuration in
   * the environment, not on the command line) only for the configured host over https.
   */
  private async git(cwd: string, args: string[], remote?: string, signal?: AbortSignal) {
    await mkdir(cwd, { recursive: true });
    const config = remote ? tokenConfig(remote, this.token, this.tokenHost) : [];
    const what = `git ${args[0]}${remote ? ` ${redactUrl(remote)}` : ''}`;
    if (signal?.aborted) throw new CancelledError(what);
    return await run('git', args, {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
      timeout: this.timeout,
      killSignal: 'SIGKILL',
      signal,
      env: {
        ...process.env,
        GIT_TERMINAL_PROMPT: '0',
        GIT_ASKPASS: 'true',
        GIT_ALLOW_PROTOCOL: this.allowFile ? 'https:ssh:file' : 'https:ssh',
        GIT_CONFIG_COUNT: String(config.length),
        ...Object.fromEntries(
          config.flatMap(([k, v], i) => [
            [`GIT_CONFIG_KEY_${i}`, k],
            [`GIT_CONFIG_VALUE_${i}`, v],
          ]),
        ),
      },
    }).catch((err: { killed?: boolean }) => {
      if (signal?.aborted) throw new CancelledError(what);
      if (err.killed) throw new DeadlineExceededError(what, this.timeout);
      throw err;
    });
  }
}

/** A command that was cancelled or ran out of time: the caller decides, it is not a bad source. */
function stopped(err: unknown): boolean {
  return err instanceof CancelledError || err instanceof DeadlineExceededError;
}

/** Wait for `work`, but not past `signal` (the work itself goes on for whoever else waits on it). */
function untilCancelled<T>(work: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(new CancelledError(what));
  let onAbort: (() => void) | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      onAbort = () => reject(new CancelledError(what));
      signal.addEventListener('abort', onAbort, { once: true });
    }),
  ]).finally(() => signal.removeEventListener('abort', onAbort!));
}

/** The project fields git needs: its id (its mirror) and where its code lives. */
export interface GitProject {
  id: string;
  cloneUrl: string;
}

/** git configuration that sends the token: only to `host`, only over https, and never across a redirect. */
export function tokenConfig(remote: string, token: string | undefined, host: string): [string, string][] {
  if (!token) return [];
  let url: URL;
  try {
    url = new URL(remote);
  } catch {
    return [];
  }
  if (url.protocol !== 'https:' || url.hostname.toLowerCase() !== host.toLowerCase()) return [];
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return [
    ['http.extraHeader', `Authorization: Basic ${basic}`],
    ['http.followRedirects', 'false'],
  ];
}

function gitMessage(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return redactUrl((e.stderr || e.message || String(err)).trim().split('\n').slice(-2).join(' '));
}
