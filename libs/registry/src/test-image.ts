import { randomBytes } from 'node:crypto';
import type { RegistryClient } from './registry-client';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/**
 * Push a one-layer image of `bytes` random bytes straight through the distribution API (no Docker
 * needed), tagged `tag`; returns its digest and size. For tests and benchmarks.
 */
export async function pushRandomImage(client: RegistryClient, repo: string, bytes: number, tag = 'seed') {
  const layer = randomBytes(bytes);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: await client.uploadBlob(repo, config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: await client.uploadBlob(repo, layer),
          size: layer.length,
        },
      ],
    }),
  );
  const digest = await client.putManifest(repo, tag, { body: manifest, mediaType: OCI_MANIFEST });
  return { digest, size: layer.length + config.length };
}
