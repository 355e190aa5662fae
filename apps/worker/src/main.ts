import 'reflect-metadata';
import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@dockyard/config';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { CoreModule } from '@dockyard/core';
import { bootConfig, exitOnConfigError } from '../../../src/boot';
import { WorkerModule } from './worker.module';

@Module({})
class WorkerAppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: WorkerAppModule, imports: [CoreModule.forRoot(config), WorkerModule] };
  }
}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(WorkerAppModule.forRoot(bootConfig()), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.init();
  app.get(Logger).log('worker started');
}

main().catch(exitOnConfigError);
