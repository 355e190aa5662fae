import type { Actor } from '@dockyard/pipeline';
import type { SecretAuthor } from '@dockyard/secrets';

/** Who made a change, as the audit records them. */
export function authorOf(actor: Actor): SecretAuthor {
  return { actor: actor.label, userId: actor.user.id, tokenId: actor.tokenId, channel: actor.channel };
}
