import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { configureHttpApp } from '../apps/api/src/http-app';
import { AppModule } from './app.module';
import { bootConfig, exitOnConfigError } from './boot';

async function main(): Promise<void> {
  const config = bootConfig();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
  });
  configureHttpApp(app);
  const { http } = config;
  await app.listen(http.port, http.host);
  console.log(`Dockyard (api + worker) listening on ${http.publicUrl}`);
  console.log(`  API docs: ${http.publicUrl}/api/docs`);
}

main().catch(exitOnConfigError);
