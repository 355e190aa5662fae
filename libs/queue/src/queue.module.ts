import { DynamicModule, Global, Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { QUEUES } from './catalogue';
import { redisOptions } from './connection';
import { JobQueue } from './job-queue';

/** The BullMQ connection and every queue of the catalogue, for producers (api) and workers alike. */
@Global()
@Module({})
export class QueueModule {
  static forRoot(): DynamicModule {
    const queues = BullModule.registerQueue(...Object.values(QUEUES).map((name) => ({ name })));
    return {
      module: QueueModule,
      imports: [
        BullModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => ({
            prefix: config.queuePrefix,
            connection: redisOptions(config.redisUrl),
          }),
        }),
        queues,
      ],
      providers: [JobQueue],
      exports: [JobQueue, queues],
    };
  }
}
