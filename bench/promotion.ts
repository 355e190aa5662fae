// bench/promotion: how long promoting an image takes, for a 1 MB and a 300 MB image, beside, in
// the same run, the floor (a raw manifest GET + PUT) and `skopeo copy` to another repository.
// Target (issue 4): the two sizes within 20 % of each other, <= 1.5x the floor, >= 20x faster
// than skopeo for 300 MB.
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CoreModule } from '@dockyard/core';
import { PrismaService } from '@dockyard/db';
import { AccessTokens, PipelineModule, RequestPromotion } from '@dockyard/pipeline';
import { MANIFEST_TYPES, RegistryClient, pushRandomImage } from '@dockyard/registry';
import { benchApp, median, timed } from './support';

const root = path.resolve(__dirname, '../..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const SKOPEO_ROUNDS = Number(process.env.BENCH_SKOPEO_ROUNDS ?? 3);

async function main(): Promise<void> {
  const { app, config, drop } = await benchApp(root, (config) => [CoreModule.forRoot(config), PipelineModule]);
  const registry = app.get(RegistryClient);
  const prisma = app.get(PrismaService);
  const promotions = app.get(RequestPromotion);
  const admin = await app.get(AccessTokens).createUser('bench-admin', 'admin');
  const ns = `bench-${randomBytes(3).toString('hex')}`;
  const base = config.registry.url;

  console.log(`promotion: ${ROUNDS} rounds per size, skopeo ${SKOPEO_ROUNDS}; pushing the images…`);
  const sizes = [
    { label: '1 MB', bytes: 1024 * 1024 },
    { label: '300 MB', bytes: 300 * 1024 * 1024 },
  ];
  const subjects = [];
  for (const { label, bytes } of sizes) {
    const repo = `${ns}/app-${bytes}`;
    // Two images per size, so that consecutive promotions into one stage always change it.
    const digests = [
      (await pushRandomImage(registry, repo, bytes)).digest,
      (await pushRandomImage(registry, repo, bytes)).digest,
    ];
    const project = await prisma.project.create({
      data: { owner: ns, name: `app-${bytes}`, cloneUrl: '/nonexistent' },
    });
    // As in life, each image comes from a passed build (whose pipeline the promotion reads).
    for (const digest of digests) {
      const sha = randomBytes(20).toString('hex');
      const image = await prisma.image.create({
        data: { projectId: project.id, repository: repo, digest, sizeBytes: BigInt(bytes), sha },
      });
      await prisma.build.create({
        data: {
          projectId: project.id,
          trigger: 'manual',
          ref: 'refs/heads/main',
          branch: 'main',
          sha,
          status: 'passed',
          imageId: image.id,
        },
      });
    }
    subjects.push({
      label,
      bytes,
      repo,
      digests,
      project,
      floor: [] as number[],
      same: [] as number[],
      cross: [] as number[],
      promote: [] as number[],
      skopeo: [] as number[],
    });
  }

  // Sizes take turns in every round (so warm-up and noise fall on both); the first rounds only warm up.
  const WARMUP = 3;
  for (let i = 0; i < ROUNDS + WARMUP; i++) {
    for (const s of subjects) {
      const digest = s.digests[i % 2];
      const floor = await timed(async () => {
        const got = await fetch(`${base}/v2/${s.repo}/manifests/${digest}`, {
          headers: { Accept: MANIFEST_TYPES.join(', ') },
        });
        const body = Buffer.from(await got.arrayBuffer());
        const put = await fetch(`${base}/v2/${s.repo}/manifests/floor`, {
          method: 'PUT',
          body,
          headers: { 'Content-Type': got.headers.get('content-type')! },
        });
        if (put.status !== 201) throw new Error(`floor put ${put.status}`);
      });
      // What a promotion writes: a tag in the image's repository, or in another one (blobs mounted).
      const same = await timed(() => registry.copy(s.repo, digest, s.repo, 'stage'));
      const cross = await timed(() => registry.copy(s.repo, digest, `${ns}/stage-${s.bytes}-${i}`, 'prod'));
      // The whole promotion: policy, stage lock, registry write, Release and audit rows.
      const promote = await timed(async () => {
        const p = await promotions.execute({
          owner: s.project.owner,
          name: s.project.name,
          digest,
          to: 'prod',
          force: true,
          requester: { user: admin, channel: 'system', actor: 'bench' },
        });
        if (p.status !== 'promoted') throw new Error(`promotion ${p.status}: ${p.reason}`);
      });
      if (i >= WARMUP) {
        s.floor.push(floor);
        s.same.push(same);
        s.cross.push(cross);
        s.promote.push(promote);
      }
    }
  }
  for (const s of subjects) {
    for (let i = 0; i < SKOPEO_ROUNDS; i++) {
      s.skopeo.push(
        await timed(async () =>
          execFileSync('skopeo', [
            'copy',
            '--quiet',
            '--src-tls-verify=false',
            '--dest-tls-verify=false',
            `docker://${new URL(registry.url).host}/${s.repo}@${s.digests[i % 2]}`,
            `docker://${new URL(registry.url).host}/${ns}/skopeo-${s.bytes}-${i}:prod`,
          ]),
        ),
      );
    }
  }
  const rows = subjects.map((s) => ({
    size: s.label,
    floor: median(s.floor),
    same: median(s.same),
    copy: median(s.cross),
    promote: median(s.promote),
    skopeo: median(s.skopeo),
  }));

  const fmt = (ms: number) => `${ms.toFixed(1).padStart(8)} ms`;
  console.log(
    ['image   ', 'floor GET+PUT', 'tag, same repo', 'tag, other repo', 'whole promotion', 'skopeo copy'].join('  '),
  );
  for (const r of rows) {
    console.log(
      [
        r.size.padEnd(8),
        fmt(r.floor).padStart(13),
        fmt(r.same).padStart(14),
        fmt(r.copy).padStart(15),
        fmt(r.promote).padStart(15),
        fmt(r.skopeo).padStart(11),
      ].join('  '),
    );
  }
  const [small, big] = rows;
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  console.log(
    `ratio 300 MB / 1 MB: same repo ${x(big.same, small.same)}, other repo ${x(big.copy, small.copy)}, whole promotion ${x(big.promote, small.promote)}`,
  );
  console.log(
    `ratio / floor: same repo ${x(small.same, small.floor)} and ${x(big.same, big.floor)}, other repo ${x(small.copy, small.floor)} and ${x(big.copy, big.floor)}, whole promotion ${x(small.promote, small.floor)} and ${x(big.promote, big.floor)}`,
  );
  console.log(
    `ratio skopeo / Dockyard at 300 MB: whole promotion ${x(big.skopeo, big.promote)}, registry write ${x(big.skopeo, big.same)}`,
  );
  const within = (a: number, b: number) => Math.abs(a - b) / Math.min(a, b) <= 0.2;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(
    [
      `targets: sizes within 20% — ${verdict(within(small.same, big.same) && within(small.copy, big.copy) && within(small.promote, big.promote))}`,
      `registry write <= 1.5x floor — same repo ${verdict(Math.max(small.same / small.floor, big.same / big.floor) <= 1.5)}, other repo ${verdict(Math.max(small.copy / small.floor, big.copy / big.floor) <= 1.5)}`,
      `whole promotion <= 1.5x floor — ${verdict(Math.max(small.promote / small.floor, big.promote / big.floor) <= 1.5)}`,
      `>= 20x faster than skopeo at 300 MB — ${verdict(big.skopeo / big.promote >= 20)}`,
    ].join('; '),
  );
  await drop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
