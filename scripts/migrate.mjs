#!/usr/bin/env node
// The project's migrate command. Prisma's native schema engine cannot be downloaded here, so this
// drives the same engine compiled to WebAssembly (@prisma/schema-engine-wasm, pinned to the engine
// version of the installed prisma CLI) through the pg driver adapter. Migration folders stay in
// Prisma's standard format, so `prisma migrate deploy` works unchanged wherever the binary exists.
//
//   node scripts/migrate.mjs deploy          apply prisma/migrations/* to DATABASE_URL (idempotent)
//   node scripts/migrate.mjs new <name>      write a migration for the schema's changes since the
//                                            last migration (no database needed)
import { readFile, readdir, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const schemaPath = path.join(root, 'prisma/schema.prisma');
const migrationsDir = path.join(root, 'prisma/migrations');
const snapshotPath = path.join(migrationsDir, 'schema.snapshot.prisma');
const filters = { externalTables: [], externalEnums: [] };

function fail(message) {
  console.error(`[migrate] ERROR: ${message}`);
  process.exit(1);
}

async function loadEngine() {
  const dir = path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
  const bg = await import(pathToFileURL(path.join(dir, 'schema_engine_bg.js')).href);
  const bytes = await readFile(path.join(dir, 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bg });
  bg.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start?.();
  return bg;
}

async function listMigrations() {
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  const entries = existsSync(migrationsDir) ? await readdir(migrationsDir, { withFileTypes: true }) : [];
  const dirs = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrationDirectories = await Promise.all(
    dirs.map(async (name) => {
      const file = path.join(migrationsDir, name, 'migration.sql');
      const content = existsSync(file)
        ? { tag: 'ok', value: await readFile(file, 'utf8') }
        : { tag: 'error', value: `${file} is missing` };
      return { path: name, migrationFile: { path: 'migration.sql', content } };
    }),
  );
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? await readFile(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

async function main() {
  const [command, name] = process.argv.slice(2);
  const url = process.env.DATABASE_URL;
  if (!url) fail('DATABASE_URL is not set (source .dockyard/services.env, or run `npm run provision`)');
  if (command !== 'deploy' && command !== 'new') fail('usage: migrate.mjs deploy | new <name>');
  if (command === 'new' && !/^[a-z0-9_]+$/.test(name ?? '')) fail('a new migration needs a name of [a-z0-9_]');

  const { SchemaEngine } = await loadEngine();
  const { PrismaPg } = require('@prisma/adapter-pg');
  const { bindMigrationAwareSqlAdapterFactory } = require('@prisma/driver-adapter-utils');
  const datamodel = await readFile(schemaPath, 'utf8');
  const logs = [];
  const engine = await SchemaEngine.new(
    { datamodels: [[schemaPath, datamodel]] },
    (line) => logs.push(line),
    bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString: url })),
  );
  try {
    const migrationsList = await listMigrations();
    if (command === 'deploy') {
      const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters });
      console.log(
        appliedMigrationNames.length
          ? `[migrate] applied ${appliedMigrationNames.join(', ')}`
          : `[migrate] up to date (${migrationsList.migrationDirectories.length} migrations)`,
      );
      return;
    }
    // createMigration wants a shadow database, and the WebAssembly engine cannot introspect a live
    // PostgreSQL through the pg adapter (it fails on the catalog's "char" columns). So a new
    // migration is the diff between the schema the last migration was written from (kept beside
    // the migrations as a snapshot) and the schema now; `deploy` then checks it against a database.
    const snapshot = existsSync(snapshotPath) ? await readFile(snapshotPath, 'utf8') : null;
    const target = { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: datamodel }] };
    const from = snapshot
      ? { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: snapshot }] }
      : { tag: 'empty' };
    const { stdout } = await engine.diff({ from, to: target, script: true, exitCode: null, filters });
    if (!/^\s*[A-Z]/m.test(stdout.replace(/^--.*$/gm, ''))) {
      console.log('[migrate] the schema and the migrations agree: nothing to write');
      return;
    }
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const folder = `${stamp}_${name}`;
    await mkdir(path.join(migrationsDir, folder), { recursive: true });
    await writeFile(path.join(migrationsDir, folder, 'migration.sql'), stdout);
    const lock = path.join(migrationsDir, 'migration_lock.toml');
    if (!existsSync(lock)) {
      await writeFile(
        lock,
        '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
      );
    }
    await writeFile(snapshotPath, datamodel);
    console.log(`[migrate] wrote prisma/migrations/${folder}/migration.sql; apply it with \`npm run migrate\``);
  } catch (err) {
    const detail = err?.message ?? String(err);
    fail(`${detail}${logs.length ? `\n${logs.slice(-5).join('\n')}` : ''}`);
  } finally {
    engine.free?.();
  }
}

await main();
// The adapter keeps an idle pg pool open; nothing else is left to wait for.
process.exit(0);
