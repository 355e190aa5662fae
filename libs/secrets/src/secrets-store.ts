import { Injectable } from '@nestjs/common';
import { AuditEntry, Channel, ProjectRepository, SecretListing, SecretRepository } from '@dockyard/db';
import { SecretCipher } from './secret-cipher';

export class SecretInputError extends Error {}
export class SecretScopeNotFoundError extends Error {}

/** Names usable as environment variables and as BuildKit secret ids. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const SECRET_MAX_BYTES = 64 * 1024;

/** Where a secret belongs, named as users name it. */
export interface SecretTarget {
  owner: string;
  name: string;
  /** The stage whose environment it belongs to; unset: the project's own (its builds). */
  stage?: string;
}

/** Who changes a secret, as the audit records them. */
export interface SecretAuthor {
  actor: string;
  userId?: string | null;
  tokenId?: string | null;
  channel: Channel;
}

/**
 * Secrets of projects (handed to their builds) and of environments (handed to their containers).
 * Values go in and, for the build and deploy code only, come out; every answer and every audit
 * event carries names and times, never a value.
 */
@Injectable()
export class SecretsStore {
  constructor(
    private readonly cipher: SecretCipher,
    private readonly secrets: SecretRepository,
    private readonly projects: ProjectRepository,
  ) {}

  async set(target: SecretTarget, secretName: string, value: string, by: SecretAuthor): Promise<SecretListing> {
    if (!SECRET_NAME.test(secretName)) {
      throw new SecretInputError(
        `secret name "${secretName}" must be letters, digits and _, not starting with a digit (an environment variable name)`,
      );
    }
    if (typeof value !== 'string' || value === '') throw new SecretInputError('a secret needs a non-empty value');
    if (Buffer.byteLength(value) > SECRET_MAX_BYTES) throw new SecretInputError('a secret holds at most 64 KiB');
    const projectId = await this.projectId(target);
    const sealed = this.cipher.seal(value, bindingOf(projectId, target.stage, secretName));
    return this.secrets.put({ projectId, stage: target.stage }, secretName, sealed, by.actor, {
      ...by,
      action: 'secret.set',
      projectId,
      subject: subjectOf(target, secretName),
      detail: { secret: secretName, ...(target.stage ? { stage: target.stage } : {}) },
    } satisfies AuditEntry);
  }

  async remove(target: SecretTarget, secretName: string, by: SecretAuthor): Promise<void> {
    const projectId = await this.projectId(target);
    const removed = await this.secrets.delete({ projectId, stage: target.stage }, secretName, {
      ...by,
      action: 'secret.deleted',
      projectId,
      subject: subjectOf(target, secretName),
      detail: { secret: secretName, ...(target.stage ? { stage: target.stage } : {}) },
    });
    if (!removed) throw new SecretScopeNotFoundError(`no secret ${subjectOf(target, secretName)}`);
  }

  async list(target: SecretTarget): Promise<SecretListing[]> {
    return this.secrets.list({ projectId: await this.projectId(target), stage: target.stage });
  }

  /**
   * The plain values, for a build's `--secret` mounts (no stage) or an environment's containers
   * (its stage). Never log, label or answer with them. Empty when there are none, even without a key.
   */
  async values(projectId: string, stage?: string): Promise<Record<string, string>> {
    const rows = await this.secrets.sealed({ projectId, stage });
    const out: Record<string, string> = {};
    for (const row of rows) out[row.name] = this.cipher.open(row, bindingOf(projectId, stage, row.name));
    return out;
  }

  private async projectId({ owner, name }: SecretTarget): Promise<string> {
    const project = await this.projects.find(owner, name);
    if (!project) throw new SecretScopeNotFoundError(`no project ${owner}/${name}`);
    return project.id;
  }
}

function bindingOf(projectId: string, stage: string | undefined, name: string): string {
  return `secret ${projectId}/${stage ?? ''}/${name}`;
}

function subjectOf(target: SecretTarget, secretName: string): string {
  return `${target.owner}/${target.name}${target.stage ? `@${target.stage}` : ''}:${secretName}`;
}
