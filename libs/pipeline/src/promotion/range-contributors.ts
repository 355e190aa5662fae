import { Injectable } from '@nestjs/common';
import { PromotionFull, PromotionRepository } from '@dockyard/db';
import { GitSource } from '@dockyard/git';
import { identityOf } from './policy';

export type Contributors = { people: string[] } | { unreadable: string };
type History = { commits: Set<string>; people: string[] };

const TTL_MS = 30_000;

/**
 * Everyone who touched what a promotion brings into its stage: the authors and committers of every
 * commit in the range (what the stage holds .. what is promoted, the whole history when the stage is
 * empty), and the pusher of every build of a commit in that range. When the history cannot be read
 * the answer says so (and why): separation of duties then cannot pass.
 */
@Injectable()
export class RangeContributors {
  /** Histories read, by range: commits never change, so a range's authors do not either. */
  private readonly histories = new Map<string, { at: number; value: History }>();

  constructor(
    private readonly promotions: PromotionRepository,
    private readonly git: GitSource,
  ) {}

  async of(p: PromotionFull): Promise<Contributors> {
    const current = await this.promotions.currentRelease(p.toStageId);
    const from = current ? (await this.promotions.image(current.imageId)).sha : null;
    const to = p.image.sha;
    const history = await this.historyOf(p, from, to);
    if ('unreadable' in history) return history;
    // Who pushed builds of those commits is read every time: a new push may add someone.
    const pushers = (await this.promotions.pushersByCommit(p.projectId))
      .filter((b) => history.commits.has(b.sha))
      .map((b) => b.pusher);
    return { people: [...new Set([...history.people, ...pushers].map(identityOf))] };
  }

  private async historyOf(
    p: PromotionFull,
    from: string | null,
    to: string,
  ): Promise<History | { unreadable: string }> {
    const key = `${p.projectId}:${from ?? ''}..${to}`;
    const hit = this.histories.get(key);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
    const value = await this.read(p, from, to);
    // "Unreadable" is not remembered: the next look may read it.
    if ('unreadable' in value) return value;
    if (this.histories.size >= 500) this.histories.delete(this.histories.keys().next().value!);
    this.histories.set(key, { at: Date.now(), value });
    return value;
  }

  private async read(p: PromotionFull, from: string | null, to: string): Promise<History | { unreadable: string }> {
    try {
      const mirror = await this.git.mirrorWith(p.project, to);
      // A stage commit the mirror cannot get: take all of `to`'s history (more people, never fewer).
      const base =
        from && from !== to
          ? await this.git.mirrorWith(p.project, from).then(
              () => from,
              () => null,
            )
          : from;
      return await this.git.history(mirror, base, to);
    } catch (err) {
      return { unreadable: `the history of ${to.slice(0, 12)} cannot be read (${(err as Error).message})` };
    }
  }
}
