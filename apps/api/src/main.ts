import 'reflect-metadata';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AppConfig } from '@dockyard/config';
import { CoreModule } from '@dockyard/core';
import { bootConfig, exitOnConfigError } from '../../../src/boot';
import { ApiModule } from './api.module';
import { configureHttpApp } from './http-app';

@Module({})
class ApiAppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: ApiAppModule, imports: [CoreModule.forRoot(config), ApiModule] };
  }
}

async function main(): Promise<void> {
  const config = bootConfig();
  const app = await NestFactory.create<NestExpressApplication>(ApiAppModule.forRoot(config), {
    bufferLogs: true,
  });
  configureHttpApp(app);
  const { http } = config;
  await app.listen(http.port, http.host);
  console.log(`Dockyard API listening on ${http.publicUrl}`);
}

main().catch(exitOnConfigError);
