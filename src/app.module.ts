import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@dockyard/config';
import { CoreModule } from '@dockyard/core';
import { ApiModule } from '../apps/api/src/api.module';
import { WorkerModule } from '../apps/worker/src/worker.module';

/** api + worker in one process: what a single machine runs (`npm start`). */
@Module({})
export class AppModule {
  static forRoot(config?: AppConfig): DynamicModule {
    return { module: AppModule, imports: [CoreModule.forRoot(config), ApiModule, WorkerModule] };
  }
}
