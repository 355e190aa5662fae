import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig, ConfigModule } from '@dockyard/config';
import { DbModule } from '@dockyard/db';
import { BuildKitCli, DockerEngine } from '@dockyard/docker';
import { ObservabilityModule } from '@dockyard/observability';
import { QueueModule } from '@dockyard/queue';
import { RegistryClient } from '@dockyard/registry';
import { ShutdownWatchdog } from './shutdown-watchdog';

/** What both apps stand on: config, logs and metrics, Postgres, the queues, Docker, the registry. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config?: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      imports: [ConfigModule.forRoot(config), ObservabilityModule.forRoot(), DbModule, QueueModule.forRoot()],
      providers: [DockerEngine, BuildKitCli, RegistryClient, ShutdownWatchdog],
      exports: [DockerEngine, BuildKitCli, RegistryClient],
    };
  }
}
