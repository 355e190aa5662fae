import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { parse } from 'yaml';
import { loadConfig } from '@dockyard/config';
import { parsePipelineFile } from '@dockyard/pipeline';
import { eventually } from './support/app';
import { createTestDatabase } from './support/database';
import { freePort } from './support/net';
import { dockerCli, nodeBaseImage } from './support/node-base';

// The first build of the image runs `npm ci` inside it; later runs reuse its layers.
jest.setTimeout(20 * 60_000);

const ROOT = path.resolve(__dirname, '..');
const run = promisify(execFile);

describe("Dockyard's own image, built from the repository's Dockerfile on a base made here", () => {
  const suffix = randomBytes(4).toString('hex');
  const image = `dockyard-test-image:${suffix}`;
  const containers: string[] = [];
  const migrations = readdirSync(path.join(ROOT, 'prisma/migrations')).filter((d) =>
    statSync(path.join(ROOT, 'prisma/migrations', d)).isDirectory(),
  );
  let db: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    const base = await nodeBaseImage();
    // Host network for RUN steps: `npm ci` reaches the npm registry without the engine's bridge.
    await dockerCli([
      'build',
      '--network',
      'host',
      '--build-arg',
      `BASE_IMAGE=${base}`,
      '--label',
      'dev.dockyard.test=image',
      '-t',
      image,
      ROOT,
    ]);
    db = await createTestDatabase({ empty: true });
  });

  afterAll(async () => {
    if (containers.length) await dockerCli(['rm', '-f', ...containers]).catch(() => undefined);
    // Untag only: the layers stay cached for the next run.
    await dockerCli(['rmi', image]).catch(() => undefined);
    await db?.drop();
  });

  /** A container of the image in a role, on the host's network against the provisioned services. */
  async function start(role: string, env: Record<string, string>): Promise<string> {
    const socket = process.env.DOCKER_HOST!.replace(/^unix:\/\//, '');
    const name = `dockyard-test-${role}-${suffix}`;
    const vars = {
      DATABASE_URL: db.url,
      REDIS_URL: process.env.REDIS_URL!,
      REGISTRY_URL: process.env.REGISTRY_URL!,
      QUEUE_PREFIX: `t${suffix}`,
      LOG_LEVEL: 'warn',
      ...env,
    };
    await dockerCli([
      'run',
      '--detach',
      '--name',
      name,
      '--label',
      'dev.dockyard.test=image',
      '--network',
      'host',
      '--volume',
      `${socket}:/var/run/docker.sock`,
      '--group-add',
      String(statSync(socket).gid),
      '--health-interval',
      '2s',
      ...Object.entries(vars).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      image,
      role,
    ]);
    containers.push(name);
    return name;
  }

  /** Wait for Docker to call the container healthy (its own HEALTHCHECK); fail with its logs if it stops. */
  const healthy = (name: string) =>
    eventually(
      async () => {
        const state = (
          await dockerCli(['inspect', '--format', '{{.State.Status}} {{.State.Health.Status}}', name])
        ).trim();
        if (state.startsWith('exited')) throw new Error(`${name} exited`);
        return state === 'running healthy';
      },
      120_000,
      `${name} healthy`,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await dockerCli(['logs', name]).catch(() => '')}`);
    });

  it('runs as a non-root user, with a HEALTHCHECK on /readyz and the dockyard CLI on PATH', async () => {
    const [config] = JSON.parse(await dockerCli(['image', 'inspect', image])) as {
      Config: { User: string; Healthcheck: { Test: string[] }; Entrypoint: string[]; Cmd: string[] };
    }[];
    expect(config.Config.User).toBe('node');
    expect(config.Config.Healthcheck.Test.join(' ')).toContain('healthcheck.mjs');
    expect(config.Config.Cmd).toEqual(['api']);
    const cli = await dockerCli([
      'run',
      '--rm',
      '--label',
      'dev.dockyard.test=image',
      image,
      'sh',
      '-c',
      'id -u; command -v dockyard',
    ]);
    expect(cli.trim().split('\n')).toEqual(['1000', '/usr/local/bin/dockyard']);
  });

  it("passes the tests of Dockyard's own .dockyard.yml, run as Dockyard runs them (no network)", async () => {
    const pipeline = await parsePipelineFile(readFileSync(path.join(ROOT, '.dockyard.yml'), 'utf8'), 'dockyard');
    expect(pipeline).toMatchObject({ image: 'dockyard', build: { dockerfile: 'Dockerfile', context: '.' } });
    expect(pipeline.test.length).toBeGreaterThan(0);
    for (const test of pipeline.test) {
      const args = [
        'run',
        '--rm',
        '--label',
        'dev.dockyard.test=image',
        '--network',
        'none',
        '--entrypoint',
        '/bin/sh',
      ];
      await dockerCli([...args, image, '-c', test.run]).catch((err: Error) => {
        throw new Error(`test ${test.name} failed: ${err.message}`);
      });
    }
  });

  it('migrates an empty database at start, becomes healthy and answers /readyz; a worker joins it', async () => {
    const port = await freePort();
    const api = await start('api', { HOST: '127.0.0.1', PORT: String(port) });
    await healthy(api);

    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await dockerCli(['logs', api])).toContain(`[migrate] applied ${migrations.join(', ')}`);
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      const applied = await pg.query('select migration_name from _prisma_migrations where finished_at is not null');
      expect(applied.rows.map((r) => r.migration_name).sort()).toEqual(migrations);

      // The CLI inside the image, against the same database.
      await dockerCli([
        'exec',
        api,
        'dockyard',
        'create-user',
        'root-admin',
        '--role',
        'admin',
        '--password',
        'a long password 42',
      ]);
      const users = await pg.query(`select role from "User" where login = 'root-admin'`);
      expect(users.rows).toEqual([{ role: 'admin' }]);
    } finally {
      await pg.end();
    }

    // Same image, other role: the migrations are already there (idempotent), it reaches Redis and Docker.
    const worker = await start('worker', {});
    await healthy(worker);
    expect(await dockerCli(['logs', worker])).toContain(`[migrate] up to date (${migrations.length} migrations)`);
  });
});

describe('docker-compose.yml', () => {
  const compose = (env: Record<string, string>) =>
    run('docker-compose', ['--project-directory', ROOT, '-f', path.join(ROOT, 'docker-compose.yml'), 'config'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
    });

  it('validates: api ×1 and worker ×N from the image, the registry on loopback for the engine, Redis AOF', async () => {
    const { stdout } = await compose({ DOCKER_GID: '998', WORKERS: '3', REGISTRY_PORT: '5005' });
    const { services, volumes } = parse(stdout);
    expect(Object.keys(services).sort()).toEqual(['api', 'caddy', 'postgres', 'redis', 'registry', 'worker']);
    const { api, worker, registry, redis, caddy } = services;

    expect(api.build.context).toBe(ROOT);
    expect(worker.image).toBe(api.image);
    expect(api.command).toEqual(['api']);
    expect(worker.command).toEqual(['worker']);
    expect(api.deploy?.replicas ?? 1).toBe(1);
    expect(worker.deploy.replicas).toBe(3);
    expect(worker.group_add).toEqual(['998']);
    for (const app of [api, worker]) expect(app.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock:rw');
    expect(worker.environment.DATABASE_URL).toMatch(/^postgresql:\/\/.*@postgres:5432\//);

    // The host's Docker Engine reaches the registry through its published loopback port, and only there.
    expect(registry.ports).toEqual([expect.stringMatching(/^127\.0\.0\.1:5005:5000/)]);
    const config = loadConfig(worker.environment);
    expect(config.registry).toMatchObject({ url: 'http://registry:5000', engineHost: '127.0.0.1:5005' });
    expect(loadConfig(api.environment).registry).toEqual(config.registry);

    expect(redis.command.join(' ')).toContain('--appendonly yes --maxmemory-policy noeviction');
    expect(Object.keys(volumes).sort()).toEqual(['caddydata', 'pgdata', 'redisdata', 'registrydata']);
    expect(caddy.profiles).toEqual(['tls']);
  });

  it('names DOCKER_GID when it is missing', async () => {
    await expect(compose({})).rejects.toMatchObject({ stderr: expect.stringContaining('set DOCKER_GID') });
  });
});
