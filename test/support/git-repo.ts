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
  commit(files: Record<string, string | null>, message = 'change', branch = 'main'): string {
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
    this.git('commit', '--quiet', '--allow-empty', '-m', message);
    return this.git('rev-parse', 'HEAD').trim();
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private git(...args: string[]): string {
    return execFileSync('git', args, { cwd: this.dir, encoding: 'utf8' });
  }
}
