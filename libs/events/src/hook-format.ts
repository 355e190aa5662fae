import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DockyardEvent } from './catalogue';

/** X-Dockyard-Signature-256, as GitHub signs its deliveries: "sha256=" + HMAC-SHA256(secret, body) in hex. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** For receivers (and tests): does the signature match the body? Constant-time. */
export function verifySignature(body: string, secret: string, signature: string | undefined): boolean {
  const expected = Buffer.from(signBody(body, secret));
  const given = Buffer.from(signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const shortDigest = (d: string | null) => (d ? d.slice(7, 19) : null);

/** One line for a chat channel: what happened, to what, by whom. */
export function summary(e: DockyardEvent): string {
  const d = e.data as Record<string, unknown>;
  const image = [shortDigest(e.digest), e.commit ? `commit ${e.commit.slice(0, 7)}` : null].filter(Boolean).join(', ');
  const what = image ? ` (${image})` : '';
  switch (e.type) {
    case 'build.started':
      return `${e.project}: build of ${d.branch ?? d.ref}${what} started`;
    case 'build.passed':
      return `${e.project}: build of ${d.branch ?? d.ref}${what} passed`;
    case 'build.failed':
      return `${e.project}: build of ${d.branch ?? d.ref}${what} ${d.status}: ${d.reason}`;
    case 'promotion.waiting':
      return `${e.project}: promotion to ${d.to}${what} waits: ${d.waitingFor}${
        Array.isArray(d.mayApprove) && d.mayApprove.length ? ` — may approve: ${d.mayApprove.join(', ')}` : ''
      }`;
    case 'promotion.promoted':
      return `${e.project}: ${d.to} now runs${what}`;
    case 'promotion.failed':
      return `${e.project}: promotion to ${d.to}${what} ${d.status}: ${d.reason}`;
    case 'promotion.rejected':
      return `${e.project}: promotion to ${d.to}${what} rejected by ${d.by}`;
    case 'stage.rolled_back':
      return `${e.project}: ${e.stage} rolled back${what}`;
    case 'environment.drifted':
      return `${e.project}: environment ${d.environment} drifted: ${d.detail}`;
    default:
      return `${e.project}: ${e.type}${e.stage ? ` in ${e.stage}` : ''}${what}${d.reason ? `: ${d.reason}` : ''}`;
  }
}

/**
 * Slack's incoming-webhook shape (text + Block Kit blocks), so a chat channel works without a bot:
 * the text is the notification, the blocks add who and links, and a waiting promotion gets
 * Approve / Reject buttons that open the dashboard page where a person decides under policy.
 */
export function slackMessage(e: DockyardEvent): { text: string; blocks: unknown[] } {
  const d = e.data as Record<string, unknown>;
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  // Slack reads <!channel>, <@U…> and <url|label> as markup in `text` as well as in mrkdwn blocks.
  const text = escape(summary(e));
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${text}*` } },
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: escape(`${e.type} · by ${e.actor} · ${e.at}`) }],
    },
  ];
  const buttons: unknown[] = [];
  if (e.type === 'promotion.waiting' && typeof d.approveUrl === 'string' && typeof d.rejectUrl === 'string') {
    buttons.push(
      { type: 'button', text: { type: 'plain_text', text: 'Approve' }, style: 'primary', url: d.approveUrl },
      { type: 'button', text: { type: 'plain_text', text: 'Reject' }, style: 'danger', url: d.rejectUrl },
    );
  }
  buttons.push({ type: 'button', text: { type: 'plain_text', text: 'Open in Dockyard' }, url: e.link });
  blocks.push({ type: 'actions', elements: buttons });
  return { text, blocks };
}
