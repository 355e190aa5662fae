// Three tiers: unit specs beside the code (no I/O), integration specs against the real services
// (*.int-spec.ts), end-to-end specs that boot the apps and talk HTTP to them (test/*.e2e-spec.ts).
const fs = require('node:fs');
const swcrc = JSON.parse(fs.readFileSync(`${__dirname}/.swcrc`, 'utf8'));
delete swcrc.$schema;

const aliases = Object.fromEntries(
  Object.entries(swcrc.jsc.paths).map(([alias, [target]]) => [`^${alias}$`, `<rootDir>/${target}`]),
);
// @octokit ships ES modules only; swc turns them into CommonJS for Jest.
const esmPackages = [
  '@octokit',
  'universal-github-app-jwt',
  'content-type',
  'universal-user-agent',
  'before-after-hook',
  'fast-content-type-parse',
  'json-with-bigint',
  'toad-cache',
];

const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j|mj)s$': ['@swc/jest', { ...swcrc, swcrc: false, jsc: { ...swcrc.jsc, baseUrl: __dirname } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  moduleNameMapper: {
    ...aliases,
    // Its package.json offers only an "import" condition, which Jest's CommonJS resolver skips.
    '^@octokit/webhooks-methods$': '<rootDir>/node_modules/@octokit/webhooks-methods/dist-node/index.js',
  },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,src}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs,src}/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/global-setup.js',
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/global-setup.js',
    },
    // Fault injection (npm run test:faults): Dockyard as separate processes on services of its own.
    { ...common, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'] },
  ],
};
