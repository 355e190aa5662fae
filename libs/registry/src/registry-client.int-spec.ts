import { createHash, randomBytes } from 'node:crypto';
import { loadConfig } from '@dockyard/config';
import { RegistryClient, RegistryError } from './registry-client';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Upload a blob the way a client pushes one (monolithic POST + PUT). */
async function uploadBlob(base: string, repo: string, data: Buffer): Promise<string> {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  expect(start.status).toBe(202);
  const location = new URL(start.headers.get('location')!, base);
  location.searchParams.set('digest', sha(data));
  const put = await fetch(location, {
    method: 'PUT',
    body: data,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  expect(put.status).toBe(201);
  return sha(data);
}

describe('RegistryClient against the real registry', () => {
  const config = loadConfig(process.env);
  const client = new RegistryClient(config);
  const ns = `int${randomBytes(4).toString('hex')}`;
  const src = `${ns}/app`;
  let digest: string;
  let layerSize: number;

  beforeAll(async () => {
    const layer = randomBytes(64 * 1024);
    const imageConfig = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    );
    layerSize = layer.length + imageConfig.length;
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: await uploadBlob(config.registry.url, src, imageConfig),
          size: imageConfig.length,
        },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar',
            digest: await uploadBlob(config.registry.url, src, layer),
            size: layer.length,
          },
        ],
      }),
    );
    digest = await client.putManifest(src, 'sha-build', {
      body: manifest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
    });
    expect(digest).toBe(sha(manifest));
  });

  it('resolves tags to digests, and a missing tag to null', async () => {
    expect(await client.resolve(src, 'sha-build')).toBe(digest);
    expect(await client.resolve(src, 'nope')).toBeNull();
    expect(await client.getManifest(src, `sha256:${'0'.repeat(64)}`)).toBeNull();
  });

  it('sums config and layers for the image size', async () => {
    expect(await client.imageSize(src, digest)).toBe(layerSize);
  });

  it('tags a digest in the same repository without moving blobs', async () => {
    expect(await client.copy(src, digest, src, 'dev')).toBe(digest);
    expect(await client.resolve(src, 'dev')).toBe(digest);
  });

  it('copies a digest into another repository by mounting its blobs', async () => {
    const dst = `${ns}/prod`;
    expect(await client.copy(src, digest, dst, 'prod')).toBe(digest);
    expect(await client.resolve(dst, 'prod')).toBe(digest);
    const manifest = await client.getManifest(dst, digest);
    for (const layer of manifest!.json.layers!) expect(await client.blobExists(dst, layer.digest)).toBe(true);
  });

  it('says clearly when the digest is not there', async () => {
    await expect(client.copy(src, `sha256:${'1'.repeat(64)}`, src, 'x')).rejects.toThrow(RegistryError);
    await expect(client.copy(src, `sha256:${'1'.repeat(64)}`, src, 'x')).rejects.toThrow(/is not in the registry/);
  });
});
