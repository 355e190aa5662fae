import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: object,
) => Promise<Buffer>;
const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY = 32;

/** scrypt (RFC 7914), stored as scrypt$N$r$p$salt$hash so the cost can rise later. */
export async function hashPassword(password: string): Promise<string> {
  if (password.length < 10) throw new Error('a password needs at least 10 characters');
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEY, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', N, R, P, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** Checked when there is no real hash (unknown login, no password): that takes as long as a wrong password. */
let dummy: Promise<string> | undefined;

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const real = stored?.split('$') ?? [];
  const usable = real.length === 6 && real[0] === 'scrypt';
  const parts = usable ? real : (await (dummy ??= hashPassword(randomBytes(16).toString('hex')))).split('$');
  const [, n, r, p, salt, hash] = parts;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 64 * 1024 * 1024,
  });
  return timingSafeEqual(actual, expected) && usable;
}
