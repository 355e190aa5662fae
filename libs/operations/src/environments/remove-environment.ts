import { Injectable } from '@nestjs/common';
import { AuditRepository, EnvironmentRepository } from '@dockyard/db';
import type { SecretAuthor } from '@dockyard/secrets';
import { EnvironmentLookup, EnvironmentRef } from './environment-lookup';

/**
 * Forget a stage's environment: its hosts and settings. Containers already running on the hosts are
 * left as they are (Dockyard stops managing them); the stage and its releases stay.
 */
@Injectable()
export class RemoveEnvironment {
  constructor(
    private readonly lookup: EnvironmentLookup,
    private readonly environments: EnvironmentRepository,
    private readonly audit: AuditRepository,
  ) {}

  async execute(cmd: EnvironmentRef & { by: SecretAuthor }): Promise<void> {
    const environment = await this.lookup.environment(cmd);
    await this.environments.remove(environment.id);
    await this.audit.record({
      ...cmd.by,
      action: 'environment.removed',
      projectId: environment.projectId,
      subject: `${cmd.owner}/${cmd.name}@${cmd.stage}`,
      detail: { hosts: environment.targets.map((t) => t.name) },
    });
  }
}
