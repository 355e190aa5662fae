// The load generator of bench/webhook-ingest, in a thread of its own so that it does not share
// the app's event loop (GitHub is an outside client, after all).
import { parentPort, workerData } from 'node:worker_threads';
import { Agent, request } from 'undici';
import { measure } from './support';

interface Input {
  url: string;
  concurrency: number;
  deliveries: { id: string; body: string; signature: string }[];
}

async function run(): Promise<void> {
  const { url, concurrency, deliveries } = workerData as Input;
  const dispatcher = new Agent({ connections: concurrency, pipelining: 1 });
  const stats = await measure(deliveries.length, concurrency, async (i) => {
    const d = deliveries[i];
    const res = await request(`${url}/webhooks/github`, {
      method: 'POST',
      dispatcher,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': d.id,
        'x-hub-signature-256': d.signature,
      },
      body: d.body,
    });
    await res.body.dump();
    if (res.statusCode !== 202) throw new Error(`delivery ${i} answered ${res.statusCode}`);
  });
  await dispatcher.close();
  parentPort!.postMessage(stats);
}

void run();
