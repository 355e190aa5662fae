import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { Image } from '../generated/client';

@Injectable()
export class ReleaseRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The image row for repository@digest (one per digest, however many builds produced it). */
  upsertImage(data: {
    projectId: string;
    repository: string;
    digest: string;
    sizeBytes: number;
    sha: string;
  }): Promise<Image> {
    return this.prisma.image.upsert({
      where: { repository_digest: { repository: data.repository, digest: data.digest } },
      create: { ...data, sizeBytes: BigInt(data.sizeBytes) },
      update: {},
    });
  }

  /** What the stage held before its newest release (null for its first). */
  async previousDigest(stageId: string): Promise<string | null> {
    const [, before] = await this.prisma.release.findMany({
      where: { stageId },
      orderBy: { createdAt: 'desc' },
      take: 2,
      select: { digest: true },
    });
    return before?.digest ?? null;
  }
}
