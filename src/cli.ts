import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@dockyard/config';
import { NestFactory } from '@nestjs/core';
import { CoreModule } from '@dockyard/core';
import { AccessRepository, ProjectRepository, Role } from '@dockyard/db';
import { parseDuration } from '@dockyard/config';
import {
  AddTarget,
  ConfigureEnvironment,
  EnvironmentsOverview,
  OperationsModule,
  RemoveTarget,
  SetVariable,
} from '@dockyard/operations';
import {
  AccessTokens,
  ChangePolicy,
  PipelineModule,
  ProjectPolicies,
  SCOPES,
  Scope,
  requireProject,
} from '@dockyard/pipeline';
import { SecretAuthor, SecretsStore } from '@dockyard/secrets';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { bootConfig } from './boot';

@Module({})
class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: CliModule, imports: [CoreModule.forRoot(config), PipelineModule, OperationsModule] };
  }
}

const USAGE = `usage:
  dockyard create-user <login> [--role viewer|developer|approver|admin] [--github <login>] [--password P | env DOCKYARD_PASSWORD]
  dockyard create-token <login> [--name NAME] [--scopes read,build,...] [--days N]
  dockyard environments <owner/name>
  dockyard environment <owner/name> <stage> [--url URL] [--replicas N] [--soak 10s]
  dockyard host-add <owner/name> <stage> <host> --kind socket|tls|ssh --address ADDR [--ca FILE --cert FILE] [--key FILE] [--proxy-port P]
  dockyard host-remove <owner/name> <stage> <host>
  dockyard variable <owner/name> <stage> NAME=value
  dockyard secret <owner/name> [stage] NAME      (the value is read from stdin, never from the command line)
  dockyard show-policy <owner/name>
  dockyard set-policy <owner/name> <policy.json | -> --as <admin login> [--comment WHY]`;

/** Environment chores from a shell (audited as "cli:<unix user>"); the same use cases as the REST API. */
async function environmentCommand(
  app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>>,
  command: string,
  args: string[],
  values: Record<string, string | undefined>,
): Promise<boolean> {
  const by: SecretAuthor = { actor: `cli:${userInfo().username}`, channel: 'system' };
  const [slug, ...rest] = args;
  const [owner, name] = (slug ?? '').split('/');
  const file = (path?: string) => (path ? readFileSync(path, 'utf8') : undefined);
  switch (command) {
    case 'environments':
      console.log(JSON.stringify(await app.get(EnvironmentsOverview).execute(owner, name), null, 2));
      return true;
    case 'environment': {
      const env = await app.get(ConfigureEnvironment).execute({
        owner,
        name,
        stage: rest[0],
        url: values.url,
        replicas: values.replicas ? Number(values.replicas) : undefined,
        soakMs: values.soak ? parseDuration(values.soak) : undefined,
        by,
      });
      console.log(`${slug}@${env.stage.name}: ${env.url ?? 'no URL'}, ${env.replicas} per host`);
      return true;
    }
    case 'host-add': {
      const target = await app.get(AddTarget).execute({
        owner,
        name,
        stage: rest[0],
        host: rest[1],
        kind: values.kind as 'socket' | 'tls' | 'ssh',
        address: values.address ?? '',
        tlsCa: file(values.ca),
        tlsCert: file(values.cert),
        key: file(values.key),
        proxyPort: values['proxy-port'] ? Number(values['proxy-port']) : undefined,
        by,
      });
      console.log(`added ${target.name} (${target.kind} ${target.address}), proxy on port ${target.proxyPort}`);
      return true;
    }
    case 'host-remove':
      await app.get(RemoveTarget).execute({ owner, name, stage: rest[0], host: rest[1], by });
      console.log(`removed ${rest[1]}`);
      return true;
    case 'variable': {
      const [variable, ...value] = (rest[1] ?? '').split('=');
      await app.get(SetVariable).execute({ owner, name, stage: rest[0], variable, value: value.join('='), by });
      console.log(`set ${variable}`);
      return true;
    }
    case 'secret': {
      const [stage, secretName] = rest.length > 1 ? rest : [undefined, rest[0]];
      const value = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
      await app.get(SecretsStore).set({ owner, name, stage }, secretName, value, by);
      console.log(`set secret ${secretName}${stage ? ` of ${stage}` : ''}`);
      return true;
    }
    default:
      return false;
  }
}

/** Admin chores from a shell: the first admin and its API token. */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      role: { type: 'string', default: 'admin' },
      github: { type: 'string' },
      password: { type: 'string' },
      name: { type: 'string', default: 'cli' },
      scopes: { type: 'string' },
      days: { type: 'string' },
      url: { type: 'string' },
      replicas: { type: 'string' },
      soak: { type: 'string' },
      kind: { type: 'string' },
      address: { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'proxy-port': { type: 'string' },
      as: { type: 'string' },
      comment: { type: 'string' },
    },
  });
  const [command, login] = positionals;
  if (!command || !login) {
    console.error(USAGE);
    process.exit(2);
  }
  const app = await NestFactory.createApplicationContext(CliModule.forRoot(bootConfig()), { logger: ['error'] });
  try {
    const tokens = app.get(AccessTokens);
    if (command === 'create-user') {
      const password = values.password ?? process.env.DOCKYARD_PASSWORD;
      const user = await tokens.createUser(login, values.role as Role, { githubLogin: values.github, password });
      console.log(`created ${user.role} ${user.login}`);
    } else if (command === 'create-token') {
      const user = await app.get(AccessRepository).findUser(login);
      if (!user) throw new Error(`no user ${login}`);
      const scopes = (values.scopes?.split(',') ?? (user.role === 'admin' ? ['admin'] : ['read'])) as Scope[];
      const expires = values.days ? new Date(Date.now() + Number(values.days) * 86_400_000) : undefined;
      const { token } = await tokens.issue(user, values.name!, scopes, expires);
      console.log(token);
    } else if (await environmentCommand(app, command, positionals.slice(1), values)) {
      // done
    } else if (command === 'show-policy') {
      const project = await requireProject(app.get(ProjectRepository), login);
      const policies = app.get(ProjectPolicies);
      const current = await policies.current(project.id);
      console.log(JSON.stringify({ namespace: policies.namespaceOf(project), ...current }, null, 2));
    } else if (command === 'set-policy') {
      // A policy change is an admin's, named and audited like one made through the API.
      const admin = values.as ? await app.get(AccessRepository).findUser(values.as) : null;
      if (!admin) throw new Error('set-policy needs --as <login> of an admin');
      const [owner, name] = login.split('/');
      const file = positionals[2];
      if (!file) throw new Error('set-policy needs the policy as a JSON file (or - for stdin)');
      const policy: unknown = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
      const changed = await app.get(ChangePolicy).execute({
        owner,
        name,
        change: { policy },
        comment: values.comment,
        requester: { user: admin, channel: 'system', actor: `${admin.login} (cli)` },
      });
      console.log(`${login}: policy version ${changed.version}`);
    } else {
      console.error(`unknown command ${command}; scopes are ${SCOPES.join(', ')}\n${USAGE}`);
      process.exitCode = 2;
    }
  } finally {
    await app.close();
  }
}

main().catch((err: Error) => {
  console.error(`dockyard: ${err.message}`);
  process.exit(1);
});
