import type { Actor, Requester } from '@dockyard/pipeline';

export function requesterOf(actor: Actor): Requester {
  return { user: actor.user, channel: actor.channel, actor: actor.label, tokenId: actor.tokenId };
}
