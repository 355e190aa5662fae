import { z } from 'zod';
import { parseDuration, parseSize } from './units';

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
const size = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseSize(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** Every environment variable Dockyard reads, with its default. `.env.example` mirrors this list. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: httpUrl.optional(),
  /** Signs dashboard session cookies; without it each start makes one (sessions end on restart). */
  SESSION_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /**
   * The proxies whose X-Forwarded-For/-Proto Dockyard believes (Express's "trust proxy"): a hop count,
   * `true`, or addresses, subnets and loopback/linklocal/uniquelocal, comma-separated. Off by default.
   */
  TRUST_PROXY: z
    .string()
    .regex(
      /^(true|false|\d{1,2}|((loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?)\s*(,\s*|$))+)$/,
      'a hop count, true/false, or addresses, subnets and loopback/linklocal/uniquelocal, comma-separated',
    )
    .default('false')
    .transform((v): boolean | number | string =>
      v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v,
    ),
  /** Dashboard log-in attempts allowed per login and per address within LOGIN_ATTEMPTS_WINDOW; more is 429. */
  LOGIN_ATTEMPTS_PER_LOGIN: z.coerce.number().int().min(1).default(10),
  LOGIN_ATTEMPTS_PER_ADDRESS: z.coerce.number().int().min(1).default(30),
  LOGIN_ATTEMPTS_WINDOW: duration.default(15 * 60_000),

  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgresql:// URL' }),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// URL' }),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/, 'letters, digits, - and _ only')
    .default('dockyard'),
  DOCKER_HOST: z.string().default('unix:///var/run/docker.sock'),
  /** The docker CLI that runs BuildKit builds (Debian's docker.io); a newer one may lack buildx. */
  DOCKER_CLI: z.string().startsWith('/', 'an absolute path').default('/usr/bin/docker'),
  REGISTRY_URL: httpUrl,
  /** The registry as the Docker Engine names it in image references (push, pull by digest); default REGISTRY_URL's host. */
  REGISTRY_ENGINE_HOST: z
    .string()
    .regex(
      /^[^/:@\s]+(:\d{1,5})?$|^\[[0-9a-fA-F:.]+\](:\d{1,5})?$/,
      'host[:port] as in an image name, without a scheme or path',
    )
    .optional(),
  REGISTRY_USERNAME: z.string().optional(),
  REGISTRY_PASSWORD: z.string().optional(),
  /** Each registry call's deadline (a promotion's copy, a manifest read): then it is cancelled. */
  REGISTRY_TIMEOUT: duration.default(60_000),
  /** Prefix of every project's registry namespace (`<prefix>/<owner>/<name>`); none: `<owner>/<name>`. */
  REGISTRY_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, 'a registry repository path')
    .optional(),

  GITHUB_API_URL: httpUrl.default('https://api.github.com'),
  GITHUB_TOKEN: z.string().optional(),
  /** A GitHub App instead of a token: statuses go out with short-lived installation tokens. */
  GITHUB_APP_ID: z.coerce.number().int().positive().optional(),
  GITHUB_APP_PRIVATE_KEY: z.string().optional(),
  GITHUB_APP_INSTALLATION_ID: z.coerce.number().int().positive().optional(),
  GITHUB_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** Each GitHub API request's deadline (a GitHub that stops answering never holds a worker slot). */
  GITHUB_TIMEOUT: duration.default(30_000),
  WEBHOOK_MAX_BODY: size.default(25 * 1024 * 1024),
  /** The largest body any other route reads (JSON, before authentication). */
  HTTP_MAX_BODY: size.default(1024 * 1024),
  WEBHOOK_AUTO_REGISTER: flag.default(false),
  WEBHOOK_BUILD_TAGS: flag.default(false),

  GIT_CACHE_DIR: z.string().default('.dockyard/git'),
  GIT_TOKEN: z.string().optional(),
  /** The only host GIT_TOKEN is sent to (over https); default: GitHub's, or GITHUB_API_URL's host. */
  GIT_TOKEN_HOST: z.string().optional(),
  /** file:// clone URLs read this host's disk: for local development and tests only. */
  GIT_ALLOW_FILE_URLS: flag.default(false),
  /** Each git command's deadline (fetch, ls-remote, …): then it is killed. */
  GIT_TIMEOUT: duration.default(10 * 60_000),

  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  BUILD_TIMEOUT: duration.default(30 * 60_000),
  /** Limits of each build step's container (Engine build API); the network is on unless a project turns it off. */
  BUILD_MEMORY: size.default(2 * 1024 * 1024 * 1024),
  BUILD_CPUS: z.coerce.number().positive().max(64).default(2),
  BUILD_NETWORK: flag.default(true),
  TEST_TIMEOUT: duration.default(10 * 60_000),
  TEST_MEMORY: size.default(512 * 1024 * 1024),
  TEST_CPUS: z.coerce.number().positive().max(64).default(1),
  TEST_PIDS: z.coerce.number().int().min(16).default(256),
  RECONCILE_INTERVAL: duration.default(15_000),
  /** How often workers look at what each environment's hosts really run (drift). */
  DRIFT_INTERVAL: duration.default(30_000),
  /** How long a worker holds a build or a promotion's tests without a heartbeat (renewed every third). */
  WORKER_LEASE: duration.default(30_000),
  /** On SIGTERM, how long jobs in flight may go on before they are handed back to the queue. */
  SHUTDOWN_GRACE: duration.default(20_000),
  /** How often branch heads (git ls-remote) are compared with the builds; 0 turns it off. */
  MISSED_PUSH_INTERVAL: duration.default(5 * 60_000),
  /** How often a GitHub App's failed webhook deliveries are asked again; 0 turns it off. */
  REDELIVERY_INTERVAL: duration.default(5 * 60_000),

  /** Encrypts stored secrets (AES-256-GCM): 32 random bytes, base64 or hex (`openssl rand -base64 32`). */
  SECRETS_KEY: z
    .string()
    .transform((value, ctx) => {
      const key = parseSecretsKey(value);
      if (key) return key;
      ctx.addIssue({
        code: 'custom',
        message: 'must be 32 bytes as base64 or 64 hex digits (openssl rand -base64 32)',
      });
      return z.NEVER;
    })
    .optional(),
  /** The reverse proxy image each environment runs per host; default: built on the host from this machine's Caddy. */
  DEPLOY_PROXY_IMAGE: z.string().min(1).optional(),
  /** A new project gets an environment per stage on DOCKER_HOST, each on its own 127.0.0.1 port from this base. */
  LOCAL_ENVIRONMENTS: flag.default(false),
  LOCAL_ENVIRONMENT_PORT: z.coerce.number().int().min(1024).max(65000).default(8100),
});

export type Env = z.infer<typeof envSchema>;

/** A 256-bit key written as 64 hex digits or as base64 (with or without padding); null if it is not one. */
function parseSecretsKey(value: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(value)) return Buffer.from(value, 'base64');
  return null;
}

/** The typed configuration every part of Dockyard reads; nothing else looks at process.env. */
export interface AppConfig {
  env: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  http: {
    host: string;
    port: number;
    publicUrl: string;
    webhookMaxBody: number;
    /** Every route but the webhook's. */
    maxBody: number;
    sessionSecret?: string;
    /** Express's "trust proxy": which proxies' X-Forwarded-* headers count (client address, https). */
    trustProxy: boolean | number | string;
    /** Dashboard log-in attempts allowed per login and per address in one window (ms). */
    loginAttempts: { perLogin: number; perAddress: number; windowMs: number };
  };
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  docker: { host: string; cli: string };
  /** One registry, two views: `url` for Dockyard's own HTTP client, `engineHost` for the Docker Engine. */
  registry: {
    url: string;
    engineHost: string;
    username?: string;
    password?: string;
    namespace?: string;
    timeout: number;
  };
  github: {
    apiUrl: string;
    token?: string;
    app?: { appId: number; privateKey: string; installationId: number };
    webhookSecret?: string;
    autoRegister: boolean;
    buildTags: boolean;
    timeout: number;
  };
  git: { cacheDir: string; token?: string; tokenHost: string; allowFileUrls: boolean; timeout: number };
  worker: {
    concurrency: number;
    reconcileInterval: number;
    lease: number;
    shutdownGrace: number;
    missedPushInterval: number;
    redeliveryInterval: number;
  };
  build: { timeout: number; memory: number; cpus: number; network: boolean };
  test: { timeout: number; memory: number; cpus: number; pids: number };
  /** The key stored secrets are encrypted with; unset, storing or reading a secret says so. */
  secrets: { key?: Buffer };
  deploy: { proxyImage?: string; localEnvironments: boolean; localPortBase: number; driftInterval: number };
}

/** Variables whose values a config error must not repeat (it ends up in logs). */
const SENSITIVE = new Set([
  'SECRETS_KEY',
  'SESSION_SECRET',
  'GITHUB_TOKEN',
  'GITHUB_APP_PRIVATE_KEY',
  'GITHUB_WEBHOOK_SECRET',
  'GIT_TOKEN',
  'REGISTRY_PASSWORD',
]);

/** Where GitHub serves git for an API URL: github.com for api.github.com, else the API's own host. */
function gitHost(apiUrl: string): string {
  const host = new URL(apiUrl).hostname;
  return host === 'api.github.com' ? 'github.com' : host;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

/** Validate the environment once, into one typed object; every bad value is named. */
export function loadConfig(source: Record<string, string | undefined>): AppConfig {
  // An empty variable means "not set", as in most shells' `VAR= cmd`.
  const env = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.');
        const value = source[name];
        if (value === undefined) return `${name} is required`;
        return SENSITIVE.has(name) ? `${name}: ${issue.message}` : `${name}=${JSON.stringify(value)}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  const app = [e.GITHUB_APP_ID, e.GITHUB_APP_PRIVATE_KEY, e.GITHUB_APP_INSTALLATION_ID];
  if (app.some((v) => v !== undefined) && !app.every((v) => v !== undefined)) {
    throw new ConfigError([
      'GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID go together: set all three or none',
    ]);
  }
  const engineHost = e.REGISTRY_ENGINE_HOST ?? new URL(e.REGISTRY_URL).host;
  if (!isRegistryHost(engineHost)) {
    const name = e.REGISTRY_ENGINE_HOST
      ? 'REGISTRY_ENGINE_HOST'
      : "REGISTRY_ENGINE_HOST (default: REGISTRY_URL's host)";
    throw new ConfigError([
      `${name}="${engineHost}": Docker would read it as a Docker Hub namespace; give a port (${engineHost}:5000), a dotted name or localhost`,
    ]);
  }
  if (e.GITHUB_TOKEN && e.GITHUB_APP_ID) {
    throw new ConfigError(['GITHUB_TOKEN and GITHUB_APP_ID: choose one way to authenticate to GitHub']);
  }
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    http: {
      host: e.HOST,
      port: e.PORT,
      publicUrl: (e.PUBLIC_URL ?? `http://${e.HOST === '0.0.0.0' ? '127.0.0.1' : e.HOST}:${e.PORT}`).replace(/\/$/, ''),
      webhookMaxBody: e.WEBHOOK_MAX_BODY,
      maxBody: e.HTTP_MAX_BODY,
      sessionSecret: e.SESSION_SECRET,
      trustProxy: e.TRUST_PROXY,
      loginAttempts: {
        perLogin: e.LOGIN_ATTEMPTS_PER_LOGIN,
        perAddress: e.LOGIN_ATTEMPTS_PER_ADDRESS,
        windowMs: e.LOGIN_ATTEMPTS_WINDOW,
      },
    },
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    queuePrefix: e.QUEUE_PREFIX,
    docker: { host: e.DOCKER_HOST, cli: e.DOCKER_CLI },
    registry: {
      url: e.REGISTRY_URL.replace(/\/$/, ''),
      engineHost,
      username: e.REGISTRY_USERNAME,
      password: e.REGISTRY_PASSWORD,
      namespace: e.REGISTRY_NAMESPACE,
      timeout: e.REGISTRY_TIMEOUT,
    },
    github: {
      apiUrl: e.GITHUB_API_URL.replace(/\/$/, ''),
      token: e.GITHUB_TOKEN,
      app:
        e.GITHUB_APP_ID && e.GITHUB_APP_PRIVATE_KEY && e.GITHUB_APP_INSTALLATION_ID
          ? {
              appId: e.GITHUB_APP_ID,
              // A PEM in one env line usually has its newlines escaped.
              privateKey: e.GITHUB_APP_PRIVATE_KEY.replace(/\\n/g, '\n'),
              installationId: e.GITHUB_APP_INSTALLATION_ID,
            }
          : undefined,
      webhookSecret: e.GITHUB_WEBHOOK_SECRET,
      autoRegister: e.WEBHOOK_AUTO_REGISTER,
      buildTags: e.WEBHOOK_BUILD_TAGS,
      timeout: e.GITHUB_TIMEOUT,
    },
    git: {
      cacheDir: e.GIT_CACHE_DIR,
      token: e.GIT_TOKEN,
      tokenHost: e.GIT_TOKEN_HOST ?? gitHost(e.GITHUB_API_URL),
      allowFileUrls: e.GIT_ALLOW_FILE_URLS,
      timeout: e.GIT_TIMEOUT,
    },
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      reconcileInterval: e.RECONCILE_INTERVAL,
      lease: e.WORKER_LEASE,
      shutdownGrace: e.SHUTDOWN_GRACE,
      missedPushInterval: e.MISSED_PUSH_INTERVAL,
      redeliveryInterval: e.REDELIVERY_INTERVAL,
    },
    build: { timeout: e.BUILD_TIMEOUT, memory: e.BUILD_MEMORY, cpus: e.BUILD_CPUS, network: e.BUILD_NETWORK },
    test: { timeout: e.TEST_TIMEOUT, memory: e.TEST_MEMORY, cpus: e.TEST_CPUS, pids: e.TEST_PIDS },
    secrets: { key: e.SECRETS_KEY },
    deploy: {
      proxyImage: e.DEPLOY_PROXY_IMAGE,
      localEnvironments: e.LOCAL_ENVIRONMENTS,
      localPortBase: e.LOCAL_ENVIRONMENT_PORT,
      driftInterval: e.DRIFT_INTERVAL,
    },
  };
}

/** Docker takes an image name's first component as a registry only if it has a dot or a port, or is localhost. */
function isRegistryHost(host: string): boolean {
  return /[.:]/.test(host) || host === 'localhost';
}
