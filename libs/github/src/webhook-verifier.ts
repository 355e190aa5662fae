import { Injectable } from '@nestjs/common';
import { Webhooks } from '@octokit/webhooks';

/** X-Hub-Signature-256 checks (HMAC-SHA256 of the raw body, compared in constant time), by @octokit/webhooks. */
@Injectable()
export class WebhookVerifier {
  private readonly bySecret = new Map<string, Webhooks>();

  async verify(secret: string, rawBody: string, signature: string | undefined): Promise<boolean> {
    if (!signature || !signature.startsWith('sha256=')) return false;
    let webhooks = this.bySecret.get(secret);
    if (!webhooks) {
      webhooks = new Webhooks({ secret });
      this.bySecret.set(secret, webhooks);
    }
    try {
      return await webhooks.verify(rawBody, signature);
    } catch {
      return false;
    }
  }
}
