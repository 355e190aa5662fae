import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { GitHubDeployment } from '../generated/client';

/** Which GitHub deployment each deploy is, and what GitHub was last told about it. */
@Injectable()
export class GitHubDeploymentRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(deployId: string): Promise<GitHubDeployment | null> {
    return this.prisma.gitHubDeployment.findUnique({ where: { deployId } });
  }

  save(data: { deployId: string; environmentId: string; githubId: number; state: string }): Promise<GitHubDeployment> {
    return this.prisma.gitHubDeployment.upsert({
      where: { deployId: data.deployId },
      create: { ...data, githubId: BigInt(data.githubId) },
      update: { state: data.state },
    });
  }

  /** The environment's other deployments GitHub still shows as live. */
  othersLive(environmentId: string, deployId: string): Promise<GitHubDeployment[]> {
    return this.prisma.gitHubDeployment.findMany({
      where: { environmentId, state: 'success', deployId: { not: deployId } },
    });
  }

  /** The commit a digest was built from (what GitHub deploys is a commit). */
  async commitOf(projectId: string, digest: string): Promise<string | null> {
    const image = await this.prisma.image.findFirst({ where: { projectId, digest }, select: { sha: true } });
    return image?.sha ?? null;
  }
}
