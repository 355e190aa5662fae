import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DynamicModule, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppConfig, loadConfig } from '@dockyard/config';
import { Client } from 'pg';

/** A fresh, migrated database for one benchmark run; dropped afterwards. */
export async function benchDatabase(root: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `dockyard_bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  execFileSync(process.execPath, [path.join(root, 'scripts/migrate.mjs'), 'deploy'], {
    env: { ...process.env, DATABASE_URL: url.toString() },
    stdio: 'ignore',
  });
  return {
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: process.env.DATABASE_URL });
      await c.connect();
      await c.query(`drop database if exists "${name}" with (force)`);
      await c.end();
    },
  };
}

/**
 * Dockyard's use cases as a worker holds them, on a fresh database with production settings and a
 * queue prefix of their own: `modules` names what the benchmark needs beside the core.
 */
export async function benchApp(
  root: string,
  modules: (config: AppConfig) => DynamicModule['imports'],
): Promise<{ app: INestApplicationContext; config: AppConfig; drop(): Promise<void> }> {
  const db = await benchDatabase(root);
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: db.url,
    QUEUE_PREFIX: `bench${randomBytes(3).toString('hex')}`,
  });
  @Module({})
  class BenchModule {}
  const app = await NestFactory.createApplicationContext(
    { module: BenchModule, imports: modules(config) },
    { logger: ['error'] },
  );
  return {
    app,
    config,
    async drop() {
      await app.close();
      await db.drop();
    },
  };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** How long `fn` takes, in milliseconds. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export interface Stats {
  count: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/** Run `task` `count` times with `concurrency` in flight; latencies in milliseconds. */
export async function measure(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<Stats> {
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t0 = process.hrtime.bigint();
        await task(i);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { count, seconds, perSecond: count / seconds, p50: at(0.5), p99: at(0.99) };
}

export function row(name: string, s: Stats): string {
  return `${name.padEnd(34)} ${s.perSecond.toFixed(0).padStart(7)}/s   p50 ${s.p50.toFixed(1).padStart(6)} ms   p99 ${s.p99.toFixed(1).padStart(6)} ms`;
}
