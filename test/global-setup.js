// Before integration and e2e specs: a template database with every migration applied, named by a
// hash of the migrations, so that each spec file can clone a fresh database from it in a blink.
const { createHash, randomBytes } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('pg');

module.exports = async function globalSetup() {
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'DOCKER_HOST', 'REGISTRY_URL']) {
    if (!process.env[name]) {
      throw new Error(`${name} is not set: run the tests with \`npm test\` (it provisions the services)`);
    }
  }
  const root = path.resolve(__dirname, '..');
  const migrations = path.join(root, 'prisma/migrations');
  const hash = createHash('sha256');
  for (const dir of fs.readdirSync(migrations).sort()) {
    const file = path.join(migrations, dir, 'migration.sql');
    if (fs.existsSync(file)) hash.update(dir).update(fs.readFileSync(file));
  }
  const template = `dockyard_tpl_${hash.digest('hex').slice(0, 12)}`;
  const admin = new Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [template]);
    if (!rowCount) {
      const building = `dockyard_tpl_tmp_${randomBytes(4).toString('hex')}`;
      await admin.query(`create database "${building}"`);
      const url = new URL(process.env.DATABASE_URL);
      url.pathname = `/${building}`;
      execFileSync(process.execPath, [path.join(root, 'scripts/migrate.mjs'), 'deploy'], {
        env: { ...process.env, DATABASE_URL: url.toString() },
        stdio: 'ignore',
      });
      await admin.query(`alter database "${building}" rename to "${template}"`).catch(async (err) => {
        // Another run made the same template meanwhile: keep theirs.
        await admin.query(`drop database if exists "${building}"`);
        if (err.code !== '42P04') throw err;
      });
    }
  } finally {
    await admin.end();
  }
  process.env.DOCKYARD_TEST_TEMPLATE = template;
};
