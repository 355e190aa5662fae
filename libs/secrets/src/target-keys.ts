import { Injectable } from '@nestjs/common';
import type { Target } from '@dockyard/db';
import { SecretCipher } from './secret-cipher';

/**
 * A host's key material (TLS client key, SSH private key), sealed under SECRETS_KEY into
 * `Target.keyCipher` and opened only to connect. Bound to the environment and host name.
 */
@Injectable()
export class TargetKeyVault {
  constructor(private readonly cipher: SecretCipher) {}

  seal(environmentId: string, targetName: string, key: string): string {
    return this.cipher.sealToString(key, bindingOf(environmentId, targetName));
  }

  open(target: Pick<Target, 'environmentId' | 'name' | 'keyCipher'>): Promise<string> {
    if (!target.keyCipher) return Promise.reject(new Error(`host ${target.name} has no key`));
    return Promise.resolve(this.cipher.openString(target.keyCipher, bindingOf(target.environmentId, target.name)));
  }
}

function bindingOf(environmentId: string, targetName: string): string {
  return `key of host ${targetName} in environment ${environmentId}`;
}
