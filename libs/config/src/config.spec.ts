import { ConfigError, loadConfig } from './config';
import { parseDuration, parseSize } from './units';

const minimal = {
  DATABASE_URL: 'postgresql://u:p@127.0.0.1:5432/db',
  REDIS_URL: 'redis://127.0.0.1:6379',
  REGISTRY_URL: 'http://127.0.0.1:5000/',
};

describe('loadConfig', () => {
  it('fills defaults around the required values', () => {
    const config = loadConfig(minimal);
    expect(config.http).toEqual({
      host: '127.0.0.1',
      port: 3000,
      publicUrl: 'http://127.0.0.1:3000',
      webhookMaxBody: 25 * 1024 * 1024,
      maxBody: 1024 * 1024,
      sessionSecret: undefined,
      trustProxy: false,
      loginAttempts: { perLogin: 10, perAddress: 30, windowMs: 15 * 60_000 },
    });
    expect(config.registry).toEqual({ url: 'http://127.0.0.1:5000', engineHost: '127.0.0.1:5000', timeout: 60_000 });
    expect([config.git.timeout, config.github.timeout]).toEqual([600_000, 30_000]);
    expect(config.test).toEqual({ timeout: 600_000, memory: 512 * 1024 ** 2, cpus: 1, pids: 256 });
    expect(config.github.autoRegister).toBe(false);
  });

  it('names every missing variable', () => {
    expect(() => loadConfig({})).toThrow(
      new ConfigError(['DATABASE_URL is required', 'REDIS_URL is required', 'REGISTRY_URL is required']),
    );
  });

  it('names a bad value and says why', () => {
    expect(() => loadConfig({ ...minimal, PORT: 'eighty' })).toThrow(/PORT="eighty": /);
    expect(() => loadConfig({ ...minimal, REDIS_URL: 'http://x' })).toThrow(
      /REDIS_URL="http:\/\/x": must be a redis:\/\/ URL/,
    );
    expect(() => loadConfig({ ...minimal, TEST_TIMEOUT: 'soon' })).toThrow(
      /TEST_TIMEOUT="soon": "soon" is not a duration/,
    );
  });

  it('reads TRUST_PROXY as Express takes it: a hop count, true, or addresses and subnets', () => {
    expect(loadConfig({ ...minimal, TRUST_PROXY: '1' }).http.trustProxy).toBe(1);
    expect(loadConfig({ ...minimal, TRUST_PROXY: 'true' }).http.trustProxy).toBe(true);
    expect(loadConfig({ ...minimal, TRUST_PROXY: 'loopback, 10.0.0.0/8' }).http.trustProxy).toBe(
      'loopback, 10.0.0.0/8',
    );
    expect(() => loadConfig({ ...minimal, TRUST_PROXY: 'everyone' })).toThrow(/TRUST_PROXY="everyone": a hop count/);
  });

  it('takes a GitHub App as a whole, and not beside a token', () => {
    const app = {
      GITHUB_APP_ID: '12',
      GITHUB_APP_PRIVATE_KEY: '-----BEGIN KEY-----\\nabc',
      GITHUB_APP_INSTALLATION_ID: '34',
    };
    expect(loadConfig({ ...minimal, ...app }).github.app).toEqual({
      appId: 12,
      privateKey: '-----BEGIN KEY-----\nabc',
      installationId: 34,
    });
    expect(() => loadConfig({ ...minimal, GITHUB_APP_ID: '12' })).toThrow(/go together/);
    expect(() => loadConfig({ ...minimal, ...app, GITHUB_TOKEN: 'x' })).toThrow(/choose one way/);
  });

  it('takes the address the Docker Engine uses for the registry apart from REGISTRY_URL', () => {
    const compose = { ...minimal, REGISTRY_URL: 'http://registry:5000', REGISTRY_ENGINE_HOST: '127.0.0.1:5000' };
    expect(loadConfig(compose).registry).toMatchObject({ url: 'http://registry:5000', engineHost: '127.0.0.1:5000' });
    expect(loadConfig({ ...minimal, REGISTRY_URL: 'https://registry.example.com/' }).registry.engineHost).toBe(
      'registry.example.com',
    );
    expect(() => loadConfig({ ...minimal, REGISTRY_ENGINE_HOST: 'http://127.0.0.1:5000' })).toThrow(
      /REGISTRY_ENGINE_HOST="http:\/\/127.0.0.1:5000": host\[:port\] as in an image name, without a scheme or path/,
    );
    // Docker reads a first name component without a dot or a port as a Docker Hub namespace.
    expect(() => loadConfig({ ...minimal, REGISTRY_ENGINE_HOST: 'registry' })).toThrow(
      /REGISTRY_ENGINE_HOST="registry": Docker would read it as a Docker Hub namespace/,
    );
    expect(() => loadConfig({ ...minimal, REGISTRY_URL: 'http://registry' })).toThrow(
      /REGISTRY_ENGINE_HOST \(default: REGISTRY_URL's host\)="registry"/,
    );
    expect(loadConfig({ ...minimal, REGISTRY_ENGINE_HOST: 'localhost' }).registry.engineHost).toBe('localhost');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ ...minimal, PORT: '' }).http.port).toBe(3000);
  });
});

describe('SECRETS_KEY', () => {
  const key = Buffer.alloc(32, 7);

  it('takes 32 bytes as base64 or hex', () => {
    expect(loadConfig({ ...minimal, SECRETS_KEY: key.toString('base64') }).secrets.key).toEqual(key);
    expect(loadConfig({ ...minimal, SECRETS_KEY: key.toString('hex') }).secrets.key).toEqual(key);
    expect(loadConfig(minimal).secrets.key).toBeUndefined();
  });

  it('refuses a key of another length without repeating it', () => {
    const short = Buffer.alloc(16, 9).toString('base64');
    let error: Error | undefined;
    try {
      loadConfig({ ...minimal, SECRETS_KEY: short });
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(/SECRETS_KEY: must be 32 bytes as base64 or 64 hex digits/);
    expect(error?.message).not.toContain(short);
  });
});

describe('units', () => {
  it.each([
    ['500ms', 500],
    ['120s', 120_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['250', 250],
  ])('parseDuration(%s)', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it('refuses a duration with junk', () => expect(() => parseDuration('10 minutes')).toThrow(/not a duration/));

  it.each([
    ['25mb', 25 * 1024 ** 2],
    ['512m', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['100', 100],
  ])('parseSize(%s)', (text, bytes) => expect(parseSize(text)).toBe(bytes));
});
