import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * A fresh database cloned from the migrated template (see test/global-setup.js), or an empty one
 * (`empty`: no migration applied); drop it after.
 */
export async function createTestDatabase(
  opts: { empty?: boolean } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
  const template = opts.empty ? 'template0' : process.env.DOCKYARD_TEST_TEMPLATE;
  if (!template) throw new Error('DOCKYARD_TEST_TEMPLATE is not set: run through jest (global setup)');
  const name = `dockyard_t_${randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`create database "${name}" template "${template}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: process.env.DATABASE_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
