// bench/webhook-ingest: signed push deliveries per second through POST /webhooks/github (api app
// with the pipeline's Postgres and queue), and p50/p99 of the 202, beside a baseline measured in
// the same run with the same clients: a bare INSERT of the delivery plus a queue add.
// Target (issue 3): >= 1,000 deliveries/s and p99 < 50 ms on a 2-core machine.
import 'reflect-metadata';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Worker } from 'node:worker_threads';
import { AppConfig, loadConfig } from '@dockyard/config';
import { CoreModule } from '@dockyard/core';
import { PrismaService, ProjectRepository } from '@dockyard/db';
import { JobQueue } from '@dockyard/queue';
import { ApiModule } from '../apps/api/src/api.module';
import { configureHttpApp } from '../apps/api/src/http-app';
import { Stats, benchDatabase, measure, row } from './support';

const root = path.resolve(__dirname, '../..');
const COUNT = Number(process.env.BENCH_COUNT ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SECRET = 'bench-secret-0123456789abcdef';

@Module({})
class BenchApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: BenchApiModule, imports: [CoreModule.forRoot(config), ApiModule] };
  }
}

async function main(): Promise<void> {
  const db = await benchDatabase(root);
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: db.url,
    QUEUE_PREFIX: prefix,
    GITHUB_WEBHOOK_SECRET: SECRET,
    GITHUB_TOKEN: '',
  });
  const app = await NestFactory.create<NestExpressApplication>(BenchApiModule.forRoot(config), {
    logger: ['error'],
  });
  configureHttpApp(app);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const prisma = app.get(PrismaService);
  const queue = app.get(JobQueue);
  await app.get(ProjectRepository).create({ owner: 'acme', name: 'web', cloneUrl: '/nonexistent' });

  const payloads = Array.from({ length: COUNT }, (_, i) => {
    const sha = randomBytes(20).toString('hex');
    const body = JSON.stringify({
      ref: `refs/heads/branch-${i % 50}`,
      before: '0'.repeat(40),
      after: sha,
      repository: { name: 'web', full_name: 'acme/web', owner: { login: 'acme' } },
      pusher: { name: 'alice' },
      head_commit: { id: sha, message: `commit ${i}` },
    });
    return { body, signature: `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` };
  });

  // HTTP load from another thread, as GitHub would be another machine.
  const deliver = (ids: string[], count: number) =>
    new Promise<Stats>((resolve, reject) => {
      const worker = new Worker(path.join(__dirname, 'http-load.js'), {
        workerData: {
          url,
          concurrency: CONCURRENCY,
          deliveries: ids.slice(0, count).map((id, i) => ({ id, ...payloads[i] })),
        },
      });
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  const baseline = async (i: number, ids: string[]) => {
    const row = await prisma.webhookDelivery.create({
      data: {
        deliveryId: ids[i],
        event: 'push',
        signature: 'valid',
        outcome: 'accepted',
        payload: JSON.parse(payloads[i].body),
      },
    });
    await queue.add('build.run', { buildId: row.id });
  };
  const ids = () => Array.from({ length: COUNT }, () => randomUUID());
  const warm = Math.min(500, COUNT);
  const warmIds = ids();
  await deliver(warmIds, warm);
  const warmBase = ids();
  await measure(warm, CONCURRENCY, (i) => baseline(i, warmBase));

  const baseIds = ids();
  const base = await measure(COUNT, CONCURRENCY, (i) => baseline(i, baseIds));
  const hookIds = ids();
  const hooks = await deliver(hookIds, COUNT);

  const builds = await prisma.build.count();
  console.log(`webhook-ingest: ${COUNT} deliveries, ${CONCURRENCY} in flight, ${builds} builds recorded`);
  console.log(row('baseline: INSERT + queue add', base));
  console.log(row('POST /webhooks/github → 202', hooks));
  console.log(
    `ratio: throughput ${(hooks.perSecond / base.perSecond).toFixed(2)}x of baseline, p99 ${(hooks.p99 / base.p99).toFixed(2)}x of baseline`,
  );
  const ok = hooks.perSecond >= 1000 && hooks.p99 < 50;
  console.log(`target (>= 1000/s, p99 < 50 ms): ${ok ? 'met' : 'NOT met'}`);

  await Promise.all(queue.all().map((q) => q.obliterate({ force: true })));
  await app.close();
  await db.drop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
