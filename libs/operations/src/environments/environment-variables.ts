import { Injectable } from '@nestjs/common';
import { AuditRepository, EnvironmentVariable, EnvironmentVariableRepository } from '@dockyard/db';
import { InvalidRequestError, NotFoundError } from '@dockyard/pipeline';
import { SECRET_NAME, SecretAuthor } from '@dockyard/secrets';
import { EnvironmentLookup, EnvironmentRef } from './environment-lookup';

/** Set one plain variable of an environment's containers (secrets go through the secrets store). */
@Injectable()
export class SetVariable {
  constructor(
    private readonly lookup: EnvironmentLookup,
    private readonly variables: EnvironmentVariableRepository,
    private readonly audit: AuditRepository,
  ) {}

  async execute(
    cmd: EnvironmentRef & { variable: string; value: string; by: SecretAuthor },
  ): Promise<EnvironmentVariable> {
    if (!SECRET_NAME.test(cmd.variable)) {
      throw new InvalidRequestError(
        `"${cmd.variable}" is not a variable name (letters, digits and _, not starting with a digit)`,
      );
    }
    const environment = await this.lookup.environment(cmd);
    const row = await this.variables.set(environment.id, cmd.variable, cmd.value, cmd.by.actor);
    // The name only: a value put in a plain variable by mistake should not also live in the audit.
    await this.audit.record({
      ...cmd.by,
      action: 'environment.variable_set',
      projectId: environment.projectId,
      subject: `${cmd.owner}/${cmd.name}@${cmd.stage}`,
      detail: { variable: cmd.variable },
    });
    return row;
  }
}

@Injectable()
export class RemoveVariable {
  constructor(
    private readonly lookup: EnvironmentLookup,
    private readonly variables: EnvironmentVariableRepository,
    private readonly audit: AuditRepository,
  ) {}

  async execute(cmd: EnvironmentRef & { variable: string; by: SecretAuthor }): Promise<void> {
    const environment = await this.lookup.environment(cmd);
    if (!(await this.variables.remove(environment.id, cmd.variable))) {
      throw new NotFoundError(`${cmd.owner}/${cmd.name}@${cmd.stage} has no variable ${cmd.variable}`);
    }
    await this.audit.record({
      ...cmd.by,
      action: 'environment.variable_removed',
      projectId: environment.projectId,
      subject: `${cmd.owner}/${cmd.name}@${cmd.stage}`,
      detail: { variable: cmd.variable },
    });
  }
}
