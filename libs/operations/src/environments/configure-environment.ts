import { Injectable } from '@nestjs/common';
import { AuditRepository, EnvironmentRepository, EnvironmentWithTargets, ProjectRepository } from '@dockyard/db';
import { InvalidRequestError } from '@dockyard/pipeline';
import type { SecretAuthor } from '@dockyard/secrets';
import { EnvironmentLookup, EnvironmentRef } from './environment-lookup';

export interface ConfigureEnvironmentCommand extends EnvironmentRef {
  url?: string | null;
  replicas?: number;
  parallel?: boolean;
  soakMs?: number;
  by: SecretAuthor;
}

const STAGE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Create a stage's environment or change its settings (URL, replicas per host, hosts in parallel, soak). */
@Injectable()
export class ConfigureEnvironment {
  constructor(
    private readonly lookup: EnvironmentLookup,
    private readonly projects: ProjectRepository,
    private readonly environments: EnvironmentRepository,
    private readonly audit: AuditRepository,
  ) {}

  async execute(cmd: ConfigureEnvironmentCommand): Promise<EnvironmentWithTargets> {
    if (!STAGE.test(cmd.stage)) throw new InvalidRequestError(`"${cmd.stage}" is not a stage name`);
    if (cmd.url) {
      let url: URL;
      try {
        url = new URL(cmd.url);
      } catch {
        throw new InvalidRequestError(`url "${cmd.url}" is not a URL`);
      }
      if (!/^https?:$/.test(url.protocol)) throw new InvalidRequestError('url must be http(s)');
    }
    const project = await this.lookup.project(cmd.owner, cmd.name);
    const stage = await this.projects.ensureStage(project.id, cmd.stage);
    const settings = {
      ...(cmd.url !== undefined ? { url: cmd.url } : {}),
      ...(cmd.replicas !== undefined ? { replicas: cmd.replicas } : {}),
      ...(cmd.parallel !== undefined ? { parallel: cmd.parallel } : {}),
      ...(cmd.soakMs !== undefined ? { soakMs: cmd.soakMs } : {}),
    };
    const environment = await this.environments.upsert(project.id, stage.id, settings);
    await this.audit.record({
      ...cmd.by,
      action: 'environment.configured',
      projectId: project.id,
      subject: `${cmd.owner}/${cmd.name}@${cmd.stage}`,
      detail: settings,
    });
    return environment;
  }
}
