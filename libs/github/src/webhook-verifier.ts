import { createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';

/**
 * X-Hub-Signature-256 checks: HMAC-SHA256 of the body's bytes as they came, compared in constant time
 * (GitHub's documented check). On the bytes, not a decoded string: a large forged body costs one hash.
 */
@Injectable()
export class WebhookVerifier {
  verify(secret: string, body: Buffer, signature: string | undefined): boolean {
    if (!signature?.startsWith('sha256=')) return false;
    const given = Buffer.from(signature);
    const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
