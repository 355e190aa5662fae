import { createHmac } from 'node:crypto';
import type { DockyardEvent } from './catalogue';
import { signBody, slackMessage, summary, verifySignature } from './hook-format';

const waiting: DockyardEvent = {
  id: '42',
  type: 'promotion.waiting',
  version: 1,
  at: '2026-11-25T12:00:00.000Z',
  project: 'acme/web',
  stage: 'prod',
  digest: `sha256:${'ab'.repeat(32)}`,
  commit: 'c0ffee0000000000000000000000000000000000',
  actor: 'alice',
  subject: 'p-1',
  link: 'https://dockyard.example/projects/acme/web?promotion=p-1#promotion-p-1',
  data: {
    promotionId: 'p-1',
    from: 'test',
    to: 'prod',
    for: 'approval',
    waitingFor: 'needs 1 more approval(s) for prod',
    approvals: { needed: 1, given: 0 },
    mayApprove: ['bob', 'carol'],
    approveUrl: 'https://dockyard.example/projects/acme/web?promotion=p-1#promotion-p-1',
    rejectUrl: 'https://dockyard.example/projects/acme/web?promotion=p-1#promotion-p-1',
  },
};

describe('hook signatures', () => {
  it('signs like GitHub: sha256= and the hex HMAC-SHA256 of the body', () => {
    const body = '{"a":1}';
    expect(signBody(body, 'secret')).toBe(`sha256=${createHmac('sha256', 'secret').update(body).digest('hex')}`);
    expect(verifySignature(body, 'secret', signBody(body, 'secret'))).toBe(true);
    expect(verifySignature(body, 'other', signBody(body, 'secret'))).toBe(false);
    expect(verifySignature(`${body} `, 'secret', signBody(body, 'secret'))).toBe(false);
    expect(verifySignature(body, 'secret', undefined)).toBe(false);
  });
});

describe('Slack format', () => {
  it('says what waits, for whom, with Approve and Reject opening the dashboard', () => {
    const msg = slackMessage(waiting);
    expect(msg.text).toBe(
      'acme/web: promotion to prod (abababababab, commit c0ffee0) waits: needs 1 more approval(s) for prod — may approve: bob, carol',
    );
    const actions = msg.blocks.find((b) => (b as { type: string }).type === 'actions') as {
      elements: { text: { text: string }; url: string }[];
    };
    expect(actions.elements.map((e) => [e.text.text, e.url])).toEqual([
      ['Approve', waiting.data.approveUrl],
      ['Reject', waiting.data.rejectUrl],
      ['Open in Dockyard', waiting.link],
    ]);
  });

  it('escapes what Slack would read as markup', () => {
    const msg = slackMessage({
      ...waiting,
      type: 'build.failed',
      data: { buildId: 'b', ref: 'refs/heads/x', branch: '<!channel>', status: 'failed', reason: 'a & b' },
    });
    expect(JSON.stringify(msg.blocks)).toContain('&lt;!channel&gt;');
    expect(JSON.stringify(msg.blocks)).not.toContain('<!channel>');
    expect(msg.text).toContain('&lt;!channel&gt;');
    expect(msg.text).toContain('a &amp; b');
    expect(msg.text).not.toContain('<!channel>');
  });

  it('has a line for every event type', () => {
    expect(
      summary({
        ...waiting,
        type: 'deploy.failed',
        data: { environment: 'prod-eu', deployId: null, reason: 'health check' },
      }),
    ).toBe('acme/web: deploy.failed in prod (abababababab, commit c0ffee0): health check');
  });
});
