import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSign, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { loadConfig } from '@dockyard/config';
import { RegistryClient } from './registry-client';
import { freePort } from '../../../test/support/net';
import { pushRandomImage } from './test-image';

jest.setTimeout(60_000);

/** A docker-registry of its own, with the auth section given, on a free loopback port. */
async function startRegistry(dir: string, auth: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog: { level: error }\nstorage:\n  filesystem: { rootdirectory: ${dir}/data }\n  delete: { enabled: true }\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`,
  );
  const proc = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`${url}/v2/`).then(
      (r) => r.status,
      () => 0,
    );
    if (up === 401) return { url, proc };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the test registry did not start');
}

const client = (url: string, username?: string, password?: string) =>
  new RegistryClient(
    loadConfig({ ...process.env, REGISTRY_URL: url, REGISTRY_USERNAME: username, REGISTRY_PASSWORD: password }),
  );

/** What a promotion does, through whatever auth the registry wants: push, resolve, copy with a mount. */
async function promoteThrough(c: RegistryClient) {
  const ns = `auth${randomBytes(3).toString('hex')}`;
  const { digest } = await pushRandomImage(c, `${ns}/app`, 4096, 'sha-1');
  expect(await c.resolve(`${ns}/app`, 'sha-1')).toBe(digest);
  expect(await c.copy(`${ns}/app`, digest, `${ns}/prod`, 'prod')).toBe(digest);
  expect(await c.resolve(`${ns}/prod`, 'prod')).toBe(digest);
}

describe('RegistryClient auth against real registries', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dockyard-registry-auth-'));
  const procs: ChildProcess[] = [];
  let tokenServer: Server | undefined;

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await new Promise((r) => (tokenServer ? tokenServer.close(r) : r(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('speaks basic auth (htpasswd) and says clearly when the credentials are wrong', async () => {
    const basicDir = path.join(dir, 'basic');
    execFileSync('mkdir', ['-p', basicDir]);
    writeFileSync(path.join(basicDir, 'htpasswd'), `ci:${bcrypt.hashSync('s3cret-pass', 8)}\n`);
    const { url, proc } = await startRegistry(
      basicDir,
      `auth:\n  htpasswd: { realm: test, path: ${basicDir}/htpasswd }\n`,
    );
    procs.push(proc);
    await promoteThrough(client(url, 'ci', 's3cret-pass'));
    await expect(client(url, 'ci', 'wrong').resolve('x/y', 'latest')).rejects.toThrow(/401/);
    await expect(client(url).resolve('x/y', 'latest')).rejects.toThrow(/wants credentials \(REGISTRY_USERNAME\)/);
  });

  it('follows the bearer-token challenge to a token service, with the scopes each call needs', async () => {
    const tokenDir = path.join(dir, 'token');
    execFileSync('mkdir', ['-p', tokenDir]);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${tokenDir}/key.pem`,
        '-out',
        `${tokenDir}/cert.pem`,
        '-days',
        '1',
        '-subj',
        '/CN=dockyard-test-issuer',
      ],
      { stdio: 'ignore' },
    );
    const key = readFileSync(`${tokenDir}/key.pem`);
    const certDer = execFileSync('openssl', ['x509', '-in', `${tokenDir}/cert.pem`, '-outform', 'DER']).toString(
      'base64',
    );
    const scopesSeen: string[][] = [];
    tokenServer = createServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
      if (basic !== 'bot:token-pass') return res.writeHead(401).end();
      const scopes = u.searchParams.getAll('scope');
      scopesSeen.push(scopes);
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const header = b64({ alg: 'RS256', typ: 'JWT', x5c: [certDer] });
      const claims = b64({
        iss: 'dockyard-test-issuer',
        sub: 'bot',
        aud: u.searchParams.get('service'),
        iat: now,
        nbf: now - 5,
        exp: now + 300,
        jti: randomBytes(8).toString('hex'),
        access: scopes.map((s) => {
          const [type, name, actions] = s.split(':');
          return { type, name, actions: actions.split(',') };
        }),
      });
      const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(key).toString('base64url');
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token: `${header}.${claims}.${signature}`, expires_in: 300 }));
    });
    await new Promise<void>((r) => tokenServer!.listen(0, '127.0.0.1', r));
    const realm = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;
    const { url, proc } = await startRegistry(
      tokenDir,
      `auth:\n  token:\n    realm: ${realm}\n    service: dockyard-test\n    issuer: dockyard-test-issuer\n    rootcertbundle: ${tokenDir}/cert.pem\n`,
    );
    procs.push(proc);
    await promoteThrough(client(url, 'bot', 'token-pass'));
    // The mount asked for push on the target and pull on the source, in one token.
    expect(scopesSeen).toContainEqual([
      expect.stringMatching(/^repository:auth\w+\/prod:push,pull$/),
      expect.stringMatching(/^repository:auth\w+\/app:pull$/),
    ]);
    await expect(client(url, 'bot', 'nope').resolve('x/y', 'latest')).rejects.toThrow(/token service .* answered 401/);
  });
});
