import { Injectable } from '@nestjs/common';
import type { AttemptResult } from '@dockyard/db';

const TIMEOUT_MS = 10_000;
const EXCERPT = 1_000;

/** The receiving ends of outgoing webhooks: one POST, timed, with the start of the answer kept for the log. */
@Injectable()
export class HookClient {
  async post(url: string, body: string, headers: Record<string, string>): Promise<AttemptResult> {
    const started = performance.now();
    try {
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const text = await res.text().catch(() => '');
      return {
        ok: res.status >= 200 && res.status < 300,
        statusCode: res.status,
        durationMs: Math.round(performance.now() - started),
        response: text.slice(0, EXCERPT),
        error: null,
      };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why =
        e.name === 'TimeoutError'
          ? `no answer within ${TIMEOUT_MS / 1000} s`
          : (e.cause?.code ?? e.cause?.message ?? e.message);
      return {
        ok: false,
        statusCode: null,
        durationMs: Math.round(performance.now() - started),
        response: null,
        error: why,
      };
    }
  }
}
