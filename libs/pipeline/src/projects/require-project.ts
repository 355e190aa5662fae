import type { Project, ProjectRepository } from '@dockyard/db';
import { NotFoundError } from '../errors';

/** A registered project by "owner/name", or a NotFoundError that names it. */
export async function requireProject(projects: Pick<ProjectRepository, 'find'>, slug: string): Promise<Project> {
  const [owner, name] = slug.split('/');
  const project = await projects.find(owner, name);
  if (!project) throw new NotFoundError(`project ${slug} is not registered`);
  return project;
}
