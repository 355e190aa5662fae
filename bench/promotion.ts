// bench/promotion: how long promoting an image takes, for a 1 MB and a 300 MB image, beside, in
// the same run, the floor (a raw manifest GET + PUT) and `skopeo copy` to another repository.
// Target (issue 4): the two sizes within 20 % of each other, <= 1.5x the floor, >= 20x faster
// than skopeo for 300 MB.
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppConfig, loadConfig } from '@dockyard/config';
import { CoreModule } from '@dockyard/core';
import { PrismaService } from '@dockyard/db';
import { AccessTokens, PipelineModule, PromotionService } from '@dockyard/pipeline';
import { MANIFEST_TYPES, RegistryClient } from '@dockyard/registry';
import { benchDatabase } from './support';

const root = path.resolve(__dirname, '../..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const SKOPEO_ROUNDS = Number(process.env.BENCH_SKOPEO_ROUNDS ?? 3);
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

@Module({})
class BenchModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: BenchModule, imports: [CoreModule.forRoot(config), PipelineModule] };
  }
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Push an image straight through the distribution API: one random layer of `bytes`. */
async function pushImage(registry: string, repo: string, bytes: number): Promise<string> {
  const upload = async (data: Buffer) => {
    const start = await fetch(`${registry}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const url = new URL(start.headers.get('location')!, registry);
    url.searchParams.set('digest', sha(data));
    const put = await fetch(url, {
      method: 'PUT',
      body: data,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    if (put.status !== 201) throw new Error(`blob upload: ${put.status}`);
    return sha(data);
  };
  const layer = randomBytes(bytes);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] } }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: await upload(config),
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: await upload(layer), size: layer.length },
      ],
    }),
  );
  const res = await fetch(`${registry}/v2/${repo}/manifests/seed`, {
    method: 'PUT',
    body: manifest,
    headers: { 'Content-Type': OCI_MANIFEST },
  });
  if (res.status !== 201) throw new Error(`manifest put: ${res.status}`);
  return sha(manifest);
}

async function main(): Promise<void> {
  const db = await benchDatabase(root);
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: db.url,
    QUEUE_PREFIX: `bench${randomBytes(3).toString('hex')}`,
  });
  const app = await NestFactory.createApplicationContext(BenchModule.forRoot(config), { logger: ['error'] });
  const registry = app.get(RegistryClient);
  const prisma = app.get(PrismaService);
  const promotions = app.get(PromotionService);
  const admin = await app.get(AccessTokens).createUser('bench-admin', 'admin');
  const ns = `bench-${randomBytes(3).toString('hex')}`;
  const base = config.registry.url;

  console.log(`promotion: ${ROUNDS} rounds per size, skopeo ${SKOPEO_ROUNDS}; pushing the images…`);
  const rows: { size: string; floor: number; copy: number; promote: number; skopeo: number }[] = [];
  for (const [label, bytes] of [
    ['1 MB', 1024 * 1024],
    ['300 MB', 300 * 1024 * 1024],
  ] as const) {
    const repo = `${ns}/app-${bytes}`;
    // Two images per size, so that consecutive promotions into one stage always change it.
    const digests = [await pushImage(base, repo, bytes), await pushImage(base, repo, bytes)];
    const project = await prisma.project.create({
      data: { owner: ns, name: `app-${bytes}`, cloneUrl: '/nonexistent' },
    });
    for (const digest of digests) {
      await prisma.image.create({
        data: { projectId: project.id, repository: repo, digest, sizeBytes: BigInt(bytes), sha: '0'.repeat(40) },
      });
    }

    const floor: number[] = [];
    const copy: number[] = [];
    const promote: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const digest = digests[i % 2];
      floor.push(
        await timed(async () => {
          const got = await fetch(`${base}/v2/${repo}/manifests/${digest}`, {
            headers: { Accept: MANIFEST_TYPES.join(', ') },
          });
          const body = Buffer.from(await got.arrayBuffer());
          const put = await fetch(`${base}/v2/${repo}/manifests/floor`, {
            method: 'PUT',
            body,
            headers: { 'Content-Type': got.headers.get('content-type')! },
          });
          if (put.status !== 201) throw new Error(`floor put ${put.status}`);
        }),
      );
      // What a promotion writes, into another repository each time: blobs mounted, manifest put.
      copy.push(await timed(() => registry.copy(repo, digest, `${ns}/stage-${bytes}-${i}`, 'prod')));
      // The whole promotion: policy, stage lock, registry write, Release and audit rows.
      promote.push(
        await timed(async () => {
          const p = await promotions.request({
            owner: project.owner,
            name: project.name,
            digest,
            to: 'prod',
            force: true,
            requester: { user: admin, channel: 'system', actor: 'bench' },
          });
          if (p.status !== 'promoted') throw new Error(`promotion ${p.status}: ${p.reason}`);
        }),
      );
    }
    const skopeo: number[] = [];
    for (let i = 0; i < SKOPEO_ROUNDS; i++) {
      const host = registry.host;
      skopeo.push(
        await timed(async () =>
          execFileSync('skopeo', [
            'copy',
            '--quiet',
            '--src-tls-verify=false',
            '--dest-tls-verify=false',
            `docker://${host}/${repo}@${digests[i % 2]}`,
            `docker://${host}/${ns}/skopeo-${bytes}-${i}:prod`,
          ]),
        ),
      );
    }
    rows.push({
      size: label,
      floor: median(floor),
      copy: median(copy),
      promote: median(promote),
      skopeo: median(skopeo),
    });
  }

  const fmt = (ms: number) => `${ms.toFixed(1).padStart(8)} ms`;
  console.log(
    `${'image'.padEnd(8)} ${'floor GET+PUT'.padStart(14)} ${'registry copy'.padStart(14)} ${'promotion'.padStart(12)} ${'skopeo copy'.padStart(12)}`,
  );
  for (const r of rows)
    console.log(`${r.size.padEnd(8)} ${fmt(r.floor)}  ${fmt(r.copy)}  ${fmt(r.promote)}  ${fmt(r.skopeo)}`);
  const [small, big] = rows;
  const spreadCopy = Math.abs(big.copy - small.copy) / small.copy;
  const spreadPromote = Math.abs(big.promote - small.promote) / small.promote;
  console.log(
    `ratio: 300 MB vs 1 MB — registry copy ${(big.copy / small.copy).toFixed(2)}x, promotion ${(big.promote / small.promote).toFixed(2)}x`,
  );
  console.log(
    `ratio: registry copy vs floor — 1 MB ${(small.copy / small.floor).toFixed(2)}x, 300 MB ${(big.copy / big.floor).toFixed(2)}x`,
  );
  console.log(
    `ratio: promotion vs floor — 1 MB ${(small.promote / small.floor).toFixed(2)}x, 300 MB ${(big.promote / big.floor).toFixed(2)}x`,
  );
  console.log(
    `ratio: skopeo vs promotion at 300 MB — ${(big.skopeo / big.promote).toFixed(1)}x (registry copy: ${(big.skopeo / big.copy).toFixed(1)}x)`,
  );
  console.log(
    `targets: sizes within 20% — ${spreadCopy <= 0.2 && spreadPromote <= 0.2 ? 'met' : 'NOT met'}; ` +
      `<= 1.5x floor (registry write) — ${Math.max(small.copy / small.floor, big.copy / big.floor) <= 1.5 ? 'met' : 'NOT met'}; ` +
      `<= 1.5x floor (whole promotion) — ${Math.max(small.promote / small.floor, big.promote / big.floor) <= 1.5 ? 'met' : 'NOT met'}; ` +
      `>= 20x faster than skopeo at 300 MB — ${big.skopeo / big.promote >= 20 ? 'met' : 'NOT met'}`,
  );
  await app.close();
  await db.drop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
