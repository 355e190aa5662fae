import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { Environment, Prisma, Stage, Target } from '../generated/client';
import { isUniqueViolation } from './errors';

export type EnvironmentWithTargets = Environment & {
  stage: Stage;
  targets: Target[];
  project: { owner: string; name: string };
};

export interface EnvironmentSettings {
  url?: string | null;
  replicas?: number;
  parallel?: boolean;
  soakMs?: number;
}

export interface TargetData {
  name: string;
  position?: number;
  kind: Target['kind'];
  address: string;
  tlsCa?: string | null;
  tlsCert?: string | null;
  /** Already encrypted: this repository never sees key material in the clear. */
  keyCipher?: string | null;
  proxyPort: number;
  proxyBind?: string;
}

export class TargetExistsError extends Error {}

const withTargets = {
  stage: true,
  project: { select: { owner: true, name: true } },
  targets: { orderBy: [{ position: 'asc' }, { name: 'asc' }] },
} satisfies Prisma.EnvironmentInclude;

/** Environments (a project's stage where it runs) and their targets (Docker Engine endpoints). */
@Injectable()
export class EnvironmentRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(id: string): Promise<EnvironmentWithTargets | null> {
    return this.prisma.environment.findUnique({ where: { id }, include: withTargets });
  }

  forStage(stageId: string): Promise<EnvironmentWithTargets | null> {
    return this.prisma.environment.findUnique({ where: { stageId }, include: withTargets });
  }

  async byName(projectId: string, stage: string): Promise<EnvironmentWithTargets | null> {
    return this.prisma.environment.findFirst({ where: { projectId, stage: { name: stage } }, include: withTargets });
  }

  /** A project's environments in stage order. */
  list(projectId: string): Promise<EnvironmentWithTargets[]> {
    return this.prisma.environment.findMany({
      where: { projectId },
      include: withTargets,
      orderBy: { stage: { position: 'asc' } },
    });
  }

  /** Every environment with at least one target (what the drift reconciler walks). */
  listWithTargets(): Promise<EnvironmentWithTargets[]> {
    return this.prisma.environment.findMany({ where: { targets: { some: {} } }, include: withTargets });
  }

  /** Create the stage's environment or change its settings. */
  upsert(projectId: string, stageId: string, settings: EnvironmentSettings): Promise<EnvironmentWithTargets> {
    return this.prisma.environment.upsert({
      where: { stageId },
      create: { projectId, stageId, ...settings },
      update: settings,
      include: withTargets,
    });
  }

  async addTarget(environmentId: string, data: TargetData): Promise<Target> {
    try {
      return await this.prisma.target.create({ data: { environmentId, ...data } });
    } catch (err) {
      if (isUniqueViolation(err)) throw new TargetExistsError(`the environment already has a host named ${data.name}`);
      throw err;
    }
  }

  updateTarget(id: string, data: Partial<TargetData>): Promise<Target> {
    return this.prisma.target.update({ where: { id }, data });
  }

  async removeTarget(environmentId: string, name: string): Promise<boolean> {
    const { count } = await this.prisma.target.deleteMany({ where: { environmentId, name } });
    return count === 1;
  }

  /** Proxy ports already used on this machine's engine (so a new local environment takes a free one). */
  async proxyPortsInUse(): Promise<number[]> {
    const rows = await this.prisma.target.findMany({ select: { proxyPort: true } });
    return rows.map((r) => r.proxyPort);
  }

  update(id: string, data: Prisma.EnvironmentUpdateInput): Promise<Environment> {
    return this.prisma.environment.update({ where: { id }, data });
  }

  /** Forget an environment and its hosts (deploy history goes with it); false when there was none. */
  async remove(id: string): Promise<boolean> {
    const { count } = await this.prisma.environment.deleteMany({ where: { id } });
    return count === 1;
  }
}
