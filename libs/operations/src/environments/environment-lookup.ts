import { Injectable } from '@nestjs/common';
import { EnvironmentRepository, EnvironmentWithTargets, Project, ProjectRepository } from '@dockyard/db';
import { NotFoundError } from '@dockyard/pipeline';

/** Which environment a request names: a project by owner/name and one of its stages. */
export interface EnvironmentRef {
  owner: string;
  name: string;
  stage: string;
}

/** Finds projects and their environments by the names people use, with a 404 that says what is missing. */
@Injectable()
export class EnvironmentLookup {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly environments: EnvironmentRepository,
  ) {}

  async project(owner: string, name: string): Promise<Project> {
    const project = await this.projects.find(owner, name);
    if (!project) throw new NotFoundError(`project ${owner}/${name} is not registered`);
    return project;
  }

  async environment(ref: EnvironmentRef): Promise<EnvironmentWithTargets & { projectRow: Project }> {
    const project = await this.project(ref.owner, ref.name);
    const environment = await this.environments.byName(project.id, ref.stage);
    if (!environment) {
      throw new NotFoundError(
        `${ref.owner}/${ref.name} has no environment for stage ${ref.stage} (PUT …/environments/${ref.stage} makes one)`,
      );
    }
    return { ...environment, projectRow: project };
  }
}
