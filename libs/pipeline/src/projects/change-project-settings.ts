import { Injectable } from '@nestjs/common';
import { AuditRepository, Project, ProjectRepository } from '@dockyard/db';
import { ForbiddenError } from '../errors';
import type { Requester } from '../promotion/requester';
import { auditActor } from './audit-actor';
import { requireProject } from './require-project';

export interface ProjectSettings {
  /** Build steps have a network. */
  buildNetwork?: boolean;
  /** Tests may opt out of their confinement in .dockyard.yml (`user:`, `readOnly: false`). */
  testOptOuts?: boolean;
}

/** An admin changes how a project's builds and tests are confined; audited with the values before and after. */
@Injectable()
export class ChangeProjectSettings {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly audit: AuditRepository,
  ) {}

  async execute(slug: string, settings: ProjectSettings, requester: Requester): Promise<Project> {
    if (requester.user.role !== 'admin') throw new ForbiddenError("only an admin may change a project's settings");
    const before = await requireProject(this.projects, slug);
    const after = await this.projects.updateSettings(before.id, settings);
    await this.audit.record({
      ...auditActor(requester),
      action: 'project.settings_changed',
      projectId: before.id,
      subject: slug,
      detail: {
        before: { buildNetwork: before.buildNetwork, testOptOuts: before.testOptOuts },
        after: { buildNetwork: after.buildNetwork, testOptOuts: after.testOptOuts },
      },
    });
    return after;
  }
}
