import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@dockyard/config';
import { NestFactory } from '@nestjs/core';
import { CoreModule } from '@dockyard/core';
import { AccessRepository, Role } from '@dockyard/db';
import { AccessTokens, PipelineModule, SCOPES, Scope } from '@dockyard/pipeline';
import { bootConfig } from './boot';

@Module({})
class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: CliModule, imports: [CoreModule.forRoot(config), PipelineModule] };
  }
}

const USAGE = `usage:
  dockyard create-user <login> [--role viewer|developer|approver|admin] [--github <login>] [--password P | env DOCKYARD_PASSWORD]
  dockyard create-token <login> [--name NAME] [--scopes read,build,...] [--days N]`;

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
