import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { Project, Stage } from '../generated/client';
import { isUniqueViolation } from './errors';

export class ProjectExistsError extends Error {}

@Injectable()
export class ProjectRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(owner: string, name: string): Promise<Project | null> {
    return this.prisma.project.findUnique({ where: { owner_name: { owner, name } } });
  }

  get(id: string): Promise<Project> {
    return this.prisma.project.findUniqueOrThrow({ where: { id } });
  }

  list(): Promise<Project[]> {
    return this.prisma.project.findMany({ orderBy: [{ owner: 'asc' }, { name: 'asc' }] });
  }

  async create(data: {
    owner: string;
    name: string;
    cloneUrl: string;
    defaultBranch?: string;
    webhookSecret?: string;
  }): Promise<Project> {
    try {
      return await this.prisma.project.create({ data });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ProjectExistsError(`project ${data.owner}/${data.name} is already registered`);
      throw err;
    }
  }

  updateSettings(id: string, settings: { buildNetwork?: boolean; testOptOuts?: boolean }): Promise<Project> {
    return this.prisma.project.update({ where: { id }, data: settings });
  }

  /** Make the project's stages match its pipeline's list (new ones added, order kept); returns them in order. */
  async syncStages(projectId: string, names: string[]): Promise<Stage[]> {
    const current = await this.prisma.stage.findMany({ where: { projectId }, orderBy: { position: 'asc' } });
    // Usually nothing changed: one read and done.
    if (names.every((name, i) => current.find((s) => s.name === name)?.position === i)) {
      return names.map((name) => current.find((s) => s.name === name)!);
    }
    await this.prisma.$transaction(
      names.map((name, position) =>
        this.prisma.stage.upsert({
          where: { projectId_name: { projectId, name } },
          create: { projectId, name, position },
          update: { position },
        }),
      ),
    );
    return this.prisma.stage.findMany({ where: { projectId }, orderBy: { position: 'asc' } });
  }

  /** The project's stage of that name, added after the others when it has none yet (an admin set it up first). */
  async ensureStage(projectId: string, name: string): Promise<Stage> {
    const found = await this.prisma.stage.findUnique({ where: { projectId_name: { projectId, name } } });
    if (found) return found;
    const position = await this.prisma.stage.count({ where: { projectId } });
    return this.prisma.stage.upsert({
      where: { projectId_name: { projectId, name } },
      create: { projectId, name, position },
      update: {},
    });
  }
}
