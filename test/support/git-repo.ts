import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Busybox, static, from Debian's busybox-static: test images are FROM scratch, nothing is pulled. */
export const BUSYBOX = '/bin/busybox';

export const SCRATCH_DOCKERFILE = [
  'FROM scratch',
  'COPY busybox /bin/busybox',
  'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
  'COPY app /app',
].join('\n');

/** A git repository on disk, committed to like a developer would. */
export class GitRepo {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'dockyard-repo-'));

  constructor() {
    this.git('init', '--quiet', '--initial-branch=main');
    this.git('config', 'user.email', 'alice@example.com');
    this.git('config', 'user.name', 'alice');
    copyFileSync(BUSYBOX, path.join(this.dir, 'busybox'));
  }

  /** A file:// URL: Dockyard accepts those only with GIT_ALLOW_FILE_URLS=true, as startApp sets. */
  get cloneUrl(): string {
    return `file://${this.dir}`;
  }

  /** Write files (path → content) and commit them; returns the new commit's sha. */
  commit(files: Record<string, string | null>, message = 'change', branch = 'main', author?: string): string {
    this.git('checkout', '--quiet', '-B', branch);
    for (const [file, content] of Object.entries(files)) {
      const full = path.join(this.dir, file);
      if (content === null) {
        rmSync(full, { force: true });
        continue;
      }
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
    this.git('add', '-A');
    const as = author ? ['-c', `user.name=${author}`, '-c', `user.email=${author}@example.com`] : [];
    this.git(...as, 'commit', '--quiet', '--allow-empty', '-m', message);
    return this.git('rev-parse', 'HEAD').trim();
  }

  /** `count` empty commits by `author` on top of `branch`, in one `git fast-import` (thousands a second). */
  commitMany(count: number, author: string, branch = 'main'): string {
    const parent = this.git('rev-parse', branch).trim();
    const who = `${author} <${author}@example.com> 1700000000 +0000`;
    let stream = '';
    for (let i = 1; i <= count; i++) {
      const message = `change ${i}\n`;
      stream += `commit refs/heads/${branch}\nauthor ${who}\ncommitter ${who}\ndata ${Buffer.byteLength(message)}\n${message}`;
      stream += i === 1 ? `from ${parent}\n\n` : '\n';
    }
    execFileSync('git', ['fast-import', '--quiet', '--force'], { cwd: this.dir, input: stream });
    return this.git('rev-parse', branch).trim();
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private git(...args: string[]): string {
    return execFileSync('git', args, { cwd: this.dir, encoding: 'utf8' });
  }
}
