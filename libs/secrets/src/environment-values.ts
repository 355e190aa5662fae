import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EnvironmentRepository, EnvironmentVariableRepository } from '@dockyard/db';
import { SecretCipher } from './secret-cipher';
import { SecretsStore } from './secrets-store';

/**
 * What an environment's containers get: its variables with its secrets over them, and a
 * fingerprint of the lot (for a label and for drift). The fingerprint is keyed, so it cannot be
 * used to guess a secret; without a key there can be no secrets, and variables are hashed plainly.
 */
@Injectable()
export class EnvironmentValueStore {
  constructor(
    private readonly environments: EnvironmentRepository,
    private readonly variables: EnvironmentVariableRepository,
    private readonly secrets: SecretsStore,
    private readonly cipher: SecretCipher,
  ) {}

  async resolve(environmentId: string): Promise<{ env: Record<string, string>; fingerprint: string }> {
    const environment = await this.environments.find(environmentId);
    if (!environment) throw new Error(`environment ${environmentId} does not exist`);
    const env: Record<string, string> = {};
    for (const v of await this.variables.list(environmentId)) env[v.name] = v.value;
    Object.assign(env, await this.secrets.values(environment.projectId, environment.stage.name));
    return { env, fingerprint: this.fingerprint(env) };
  }

  fingerprint(env: Record<string, string>): string {
    if (this.cipher.configured) return this.cipher.fingerprint(env);
    const hash = createHash('sha256');
    for (const name of Object.keys(env).sort()) hash.update(`${name}\0${env[name]}\0`);
    return hash.digest('hex').slice(0, 32);
  }
}
