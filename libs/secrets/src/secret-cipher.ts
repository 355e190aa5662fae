import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { SealedSecret } from '@dockyard/db';

export class SecretsKeyMissingError extends Error {
  constructor() {
    super(
      'SECRETS_KEY is not set, so secrets can be neither stored nor read: set it to 32 random bytes ' +
        '(openssl rand -base64 32) and restart Dockyard',
    );
  }
}

export class SecretUnreadableError extends Error {}

/**
 * AES-256-GCM with a fresh 96-bit IV per value. The additional data binds a value to where it is
 * stored (project, scope, name), so a row copied elsewhere in the database does not decrypt.
 */
export class SecretCipher {
  private readonly keyId?: string;

  constructor(private readonly key: Buffer | undefined) {
    // A fingerprint to tell keys apart, derived so that it reveals nothing of the key.
    this.keyId = key && createHmac('sha256', key).update('dockyard secrets key id').digest('hex').slice(0, 16);
  }

  get configured(): boolean {
    return this.key !== undefined;
  }

  seal(value: string, bindTo: string): SealedSecret {
    const key = this.requireKey();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(bindTo));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return { ciphertext: bytes(ciphertext), iv: bytes(iv), authTag: bytes(cipher.getAuthTag()), keyId: this.keyId! };
  }

  open(sealed: SealedSecret, bindTo: string): string {
    const key = this.requireKey();
    if (sealed.keyId !== this.keyId) {
      throw new SecretUnreadableError(
        `${bindTo} was encrypted with another SECRETS_KEY (key ${sealed.keyId}, this one is ${this.keyId}): set it again`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv);
      decipher.setAAD(Buffer.from(bindTo));
      decipher.setAuthTag(sealed.authTag);
      return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnreadableError(`${bindTo} does not decrypt: its stored value was altered`);
    }
  }

  /** One value sealed into one string column: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts). */
  sealToString(value: string, bindTo: string): string {
    const s = this.seal(value, bindTo);
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
    return ['v1', s.keyId, b64(s.iv), b64(s.authTag), b64(s.ciphertext)].join('.');
  }

  openString(sealed: string, bindTo: string): string {
    const [version, keyId, iv, authTag, ciphertext] = sealed.split('.');
    if (version !== 'v1' || ciphertext === undefined)
      throw new SecretUnreadableError(`${bindTo} is not a sealed value`);
    const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));
    return this.open({ keyId, iv: bytes(iv), authTag: bytes(authTag), ciphertext: bytes(ciphertext) }, bindTo);
  }

  /**
   * A keyed fingerprint of some values (an environment's variables and secrets, say): equal inputs
   * give equal fingerprints, and without the key it cannot be used to guess a value.
   */
  fingerprint(values: Record<string, string>): string {
    const mac = createHmac('sha256', this.requireKey()).update('dockyard fingerprint\0');
    for (const name of Object.keys(values).sort()) mac.update(`${name}\0${values[name]}\0`);
    return mac.digest('hex').slice(0, 32);
  }

  private requireKey(): Buffer {
    if (!this.key) throw new SecretsKeyMissingError();
    return this.key;
  }
}

function bytes(buf: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer);
}
