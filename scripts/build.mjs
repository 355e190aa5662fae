#!/usr/bin/env node
// One build for the whole monorepo: swc compiles src/, apps/ and libs/ into dist/ with the
// @dockyard/* path aliases rewritten to relative requires (tsc would leave them unresolvable at
// run time), then the static dashboard files are copied. Type checking is `npm run typecheck`.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
execFileSync(
  path.join(root, 'node_modules/.bin/swc'),
  ['src', 'apps', 'libs', 'bench', '-d', 'dist', '--copy-files', '--quiet', '--ignore', '**/*.spec.ts'],
  { cwd: root, stdio: 'inherit' },
);
// Each top folder must land under dist/ as it is: the start scripts point there.
for (const dir of ['src', 'apps', 'libs', 'bench']) {
  if (!existsSync(path.join(root, 'dist', dir))) throw new Error(`build: dist/${dir} is missing`);
}
cpSync(path.join(root, 'package.json'), path.join(root, 'dist/package.json'));
