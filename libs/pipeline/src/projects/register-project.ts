import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { AuditRepository, Channel, Project, ProjectRepository } from '@dockyard/db';
import { CloneUrlRefusedError, checkCloneUrl, redactUrl } from '@dockyard/git';
import { InvalidRequestError } from '../errors';

export interface NewProject {
  owner: string;
  name: string;
  cloneUrl: string;
  defaultBranch?: string;
  webhookSecret?: string;
}

/** Who registers: an admin through the API, or a first push when auto-registration is on. */
export interface RegisteredBy {
  actor: string;
  userId?: string | null;
  tokenId?: string | null;
  channel: Channel;
}

/** Register a git repository: its clone URL checked (see checkCloneUrl), the registration audited. */
@Injectable()
export class RegisterProject {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly projects: ProjectRepository,
    private readonly audit: AuditRepository,
  ) {}

  async execute(input: NewProject, by: RegisteredBy): Promise<Project> {
    try {
      checkCloneUrl(input.cloneUrl, { allowFile: this.config.git.allowFileUrls });
    } catch (err) {
      if (err instanceof CloneUrlRefusedError) throw new InvalidRequestError(err.message);
      throw err;
    }
    const project = await this.projects.create(input);
    await this.audit.record({
      ...by,
      action: 'project.registered',
      projectId: project.id,
      subject: `${project.owner}/${project.name}`,
      detail: {
        cloneUrl: redactUrl(project.cloneUrl),
        defaultBranch: project.defaultBranch,
        ownWebhookSecret: !!input.webhookSecret,
      },
    });
    return project;
  }
}
