import { Injectable } from '@nestjs/common';
import { AuditRepository, EnvironmentRepository } from '@dockyard/db';
import { NotFoundError } from '@dockyard/pipeline';
import type { SecretAuthor } from '@dockyard/secrets';
import { EnvironmentLookup, EnvironmentRef } from './environment-lookup';

/** Take a host out of an environment (what runs there is left alone). */
@Injectable()
export class RemoveTarget {
  constructor(
    private readonly lookup: EnvironmentLookup,
    private readonly environments: EnvironmentRepository,
    private readonly audit: AuditRepository,
  ) {}

  async execute(cmd: EnvironmentRef & { host: string; by: SecretAuthor }): Promise<void> {
    const environment = await this.lookup.environment(cmd);
    if (!(await this.environments.removeTarget(environment.id, cmd.host))) {
      throw new NotFoundError(`${cmd.owner}/${cmd.name}@${cmd.stage} has no host ${cmd.host}`);
    }
    await this.audit.record({
      ...cmd.by,
      action: 'environment.host_removed',
      projectId: environment.projectId,
      subject: `${cmd.owner}/${cmd.name}@${cmd.stage}`,
      detail: { host: cmd.host },
    });
  }
}
