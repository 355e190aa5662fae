import type { Requester } from '../promotion/requester';

/** Who an audit event names: the person (or "bot for person"), their user and token, and the channel. */
export function auditActor(r: Requester) {
  return { actor: r.actor, userId: r.user.id || null, tokenId: r.tokenId || null, channel: r.channel };
}
