import { Injectable } from '@nestjs/common';
import type { Project } from '@dockyard/db';
import { GitSource } from '@dockyard/git';

/**
 * "3 commits not in prod": how many commits a stage's release has that the next stage's lacks. A
 * range of commits never changes, so each answer is kept; null when the history cannot be read.
 */
@Injectable()
export class CommitsAhead {
  private readonly counts = new Map<string, number>();

  constructor(private readonly git: GitSource) {}

  async count(project: Project, from: string | null, to: string): Promise<number | null> {
    if (from === to) return 0;
    const key = `${project.id}:${from ?? ''}..${to}`;
    const known = this.counts.get(key);
    if (known !== undefined) return known;
    try {
      const mirror = await this.git.mirrorWith(project, to);
      // The next stage's commit may be gone from the remote: then all of `to`'s history counts.
      const base = from
        ? await this.git.mirrorWith(project, from).then(
            () => from,
            () => null,
          )
        : null;
      const { commits } = await this.git.history(mirror, base, to);
      if (this.counts.size >= 1000) this.counts.delete(this.counts.keys().next().value!);
      this.counts.set(key, commits.size);
      return commits.size;
    } catch {
      return null;
    }
  }
}
