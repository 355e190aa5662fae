import type { Channel, User } from '@dockyard/db';
import { ForbiddenError } from '../errors';

/** Who asks: the person policy is checked against, and how they reached Dockyard. */
export interface Requester {
  user: User;
  channel: Channel;
  /** How the audit names them: "alice", or "chatops-bot for alice". */
  actor: string;
  tokenId?: string;
}

/** Dockyard itself: a passed build entering the first stage, an automatic stage taking the next digest. */
export const SYSTEM: Requester = {
  user: { id: '', login: 'system', role: 'admin' } as User,
  channel: 'system',
  actor: 'system',
};

export function isSystem(requester: Requester): boolean {
  return requester.user.id === '' && requester.user.login === 'system';
}

export function assertMayRequest(requester: Requester, force?: boolean): void {
  if (isSystem(requester)) return;
  if (!['developer', 'approver', 'admin'].includes(requester.user.role)) {
    throw new ForbiddenError(
      `${requester.user.login} is a ${requester.user.role}; promotions need the developer role or above`,
    );
  }
  if (force && requester.user.role !== 'admin')
    throw new ForbiddenError('only an admin may force a promotion past its policy');
}

export function short(digest: string): string {
  return digest.slice(0, 19);
}
