import { randomBytes } from 'node:crypto';
import { loadConfig } from '@dockyard/config';
import { RegistryClient, RegistryError } from './registry-client';
import { pushRandomImage } from './test-image';

describe('RegistryClient against the real registry', () => {
  const config = loadConfig(process.env);
  const client = new RegistryClient(config);
  const ns = `int${randomBytes(4).toString('hex')}`;
  const src = `${ns}/app`;
  let digest: string;
  let layerSize: number;

  beforeAll(async () => {
    ({ digest, size: layerSize } = await pushRandomImage(client, src, 64 * 1024, 'sha-build'));
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
