import { Inject, Injectable } from '@nestjs/common';
import type { Target } from '@dockyard/db';
import type { TargetEndpoint } from './target-engine';

/** Opens a target's stored key material (TLS client key, SSH private key); implemented by the secrets store. */
export interface TargetKeys {
  open(target: Pick<Target, 'id' | 'environmentId' | 'name' | 'keyCipher'>): Promise<string>;
}

export const TARGET_KEYS = Symbol('TARGET_KEYS');

/** A Target row to the endpoint dockerode connects to (keys opened only here, only when connecting). */
@Injectable()
export class TargetConnector {
  constructor(@Inject(TARGET_KEYS) private readonly keys: TargetKeys) {}

  async endpoint(target: Target): Promise<TargetEndpoint> {
    if (target.kind === 'socket') return { kind: 'socket', address: target.address };
    if (!target.keyCipher) throw new Error(`host ${target.name} (${target.address}) has no key`);
    const key = await this.keys.open(target);
    if (target.kind === 'tls') {
      if (!target.tlsCa || !target.tlsCert)
        throw new Error(`host ${target.name} (${target.address}) lacks its CA or client certificate`);
      return { kind: 'tls', address: target.address, ca: target.tlsCa, cert: target.tlsCert, key };
    }
    return { kind: 'ssh', address: target.address, privateKey: key };
  }
}
