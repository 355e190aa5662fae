#!/usr/bin/env node
// `prisma generate` offline: the CLI wants a schema-engine binary it cannot download here, and
// generating the client does not use it, so point it at any existing file.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(path.join(root, 'node_modules/.bin/prisma'), ['generate'], {
  cwd: root,
  stdio: 'inherit',
  env: { PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
});
