import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppConfig, loadConfig } from '@dockyard/config';
import { PrismaService } from '@dockyard/db';
import { AccessTokens, Scope } from '@dockyard/pipeline';
import { configureHttpApp } from '../../apps/api/src/http-app';
import { AppModule } from '../../src/app.module';
import { createTestDatabase } from './database';

export const WEBHOOK_SECRET = 'e2e-webhook-secret-0123456789';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  url: string;
  prisma: PrismaService;
  close(): Promise<void>;
  token(scopes?: Scope[], login?: string): Promise<string>;
}

/** Dockyard (api + worker in one process) on its own database, queue prefix and git cache. */
export async function startApp(env: Record<string, string> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const gitCache = mkdtempSync(path.join(tmpdir(), 'dockyard-git-'));
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    PORT: '0',
    DATABASE_URL: db.url,
    QUEUE_PREFIX: `t${randomBytes(4).toString('hex')}`,
    GIT_CACHE_DIR: gitCache,
    GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    RECONCILE_INTERVAL: '1s',
    // Tests build from git repositories on this host's disk (file:// clone URLs).
    GIT_ALLOW_FILE_URLS: 'true',
    ...env,
  });
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: ['error'],
  });
  configureHttpApp(app);
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  let users = 0;
  return {
    app,
    config,
    url: url.replace('[::1]', '127.0.0.1'),
    prisma: app.get(PrismaService),
    async close() {
      await app.close();
      await db.drop();
      rmSync(gitCache, { recursive: true, force: true });
    },
    async token(scopes: Scope[] = ['admin'], login = `user${++users}`) {
      const tokens = app.get(AccessTokens);
      const user = await tokens.createUser(login, scopes.includes('admin') ? 'admin' : 'developer');
      return (await tokens.issue(user, 'e2e', scopes)).token;
    },
  };
}

export function sign(body: string, secret = WEBHOOK_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** A webhook delivery as GitHub sends one: JSON body, event, delivery id and HMAC signature. */
export function deliver(
  url: string,
  payload: unknown,
  opts: { event?: string; deliveryId?: string; secret?: string; raw?: string } = {},
) {
  const body = opts.raw ?? JSON.stringify(payload);
  return request(url)
    .post('/webhooks/github')
    .set('Content-Type', 'application/json')
    .set('X-GitHub-Event', opts.event ?? 'push')
    .set('X-GitHub-Delivery', opts.deliveryId ?? randomUUID())
    .set('X-Hub-Signature-256', sign(body, opts.secret))
    .send(body);
}

/** Register a git repository with Dockyard through the API, as an admin would. */
export async function registerProject(
  url: string,
  token: string,
  owner: string,
  name: string,
  cloneUrl: string,
): Promise<void> {
  await request(url)
    .post('/api/v1/projects')
    .set('Authorization', `Bearer ${token}`)
    .send({ owner, name, cloneUrl })
    .expect(201);
}

export function pushPayload(owner: string, name: string, sha: string, branch = 'main', cloneUrl = '') {
  return {
    ref: `refs/heads/${branch}`,
    before: '0'.repeat(40),
    after: sha,
    repository: {
      name,
      full_name: `${owner}/${name}`,
      owner: { login: owner },
      clone_url: cloneUrl,
      default_branch: 'main',
    },
    pusher: { name: 'alice', email: 'alice@example.com' },
    head_commit: { id: sha, message: 'a change' },
  };
}

/** Poll until `check` returns something truthy, or fail after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | null | undefined | false>,
  ms = 60_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
