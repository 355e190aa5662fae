import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { PrismaClient } from './generated/client';

/** The one Postgres connection pool of a process, through Prisma's pg driver adapter. */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super({ adapter: new PrismaPg({ connectionString: config.databaseUrl, max: 20 }) });
  }

  /** Last of all: workers drain their in-flight jobs (onModuleDestroy) before the pool closes. */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
