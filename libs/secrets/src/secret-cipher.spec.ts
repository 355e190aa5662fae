import { randomBytes } from 'node:crypto';
import { SecretCipher, SecretUnreadableError, SecretsKeyMissingError } from './secret-cipher';

describe('SecretCipher', () => {
  const cipher = new SecretCipher(randomBytes(32));

  it('round-trips a value bound to where it is stored, with a fresh IV each time', () => {
    const a = cipher.seal('hunter2', 'secret p//A');
    const b = cipher.seal('hunter2', 'secret p//A');
    expect(Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext))).toBe(false);
    expect(Buffer.from(a.ciphertext).toString('latin1')).not.toContain('hunter2');
    expect(cipher.open(a, 'secret p//A')).toBe('hunter2');
    expect(() => cipher.open(a, 'secret p/prod/A')).toThrow(SecretUnreadableError);
  });

  it('names a value sealed under another key instead of failing obscurely', () => {
    const other = new SecretCipher(randomBytes(32));
    expect(() => other.open(cipher.seal('x', 'b'), 'b')).toThrow(/encrypted with another SECRETS_KEY/);
  });

  it('seals into one string column and back', () => {
    const sealed = cipher.sealToString('-----BEGIN KEY-----\nabc\n', 'target e/web-1');
    expect(sealed).toMatch(/^v1\.[0-9a-f]{16}\./);
    expect(cipher.openString(sealed, 'target e/web-1')).toBe('-----BEGIN KEY-----\nabc\n');
    expect(() => cipher.openString(sealed, 'target e/web-2')).toThrow(SecretUnreadableError);
    expect(() => cipher.openString('garbage', 'target e/web-1')).toThrow(/not a sealed value/);
  });

  it('fingerprints values with the key: order-free, and unlike a plain hash', () => {
    expect(cipher.fingerprint({ A: '1', B: '2' })).toBe(cipher.fingerprint({ B: '2', A: '1' }));
    expect(cipher.fingerprint({ A: '1' })).not.toBe(new SecretCipher(randomBytes(32)).fingerprint({ A: '1' }));
    expect(cipher.fingerprint({ A: '1' })).not.toBe(cipher.fingerprint({ A: '2' }));
  });

  it('without a key: says which variable to set', () => {
    expect(() => new SecretCipher(undefined).seal('x', 'y')).toThrow(SecretsKeyMissingError);
    expect(() => new SecretCipher(undefined).seal('x', 'y')).toThrow(/SECRETS_KEY is not set/);
  });
});
