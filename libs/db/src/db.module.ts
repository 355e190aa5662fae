import { Global, Module } from '@nestjs/common';
import { PrismaService } from './prisma.service';
import {
  AccessRepository,
  BuildRepository,
  DeliveryRepository,
  ProjectRepository,
  ReleaseRepository,
} from './repositories';

const repositories = [AccessRepository, BuildRepository, DeliveryRepository, ProjectRepository, ReleaseRepository];

@Global()
@Module({ providers: [PrismaService, ...repositories], exports: [PrismaService, ...repositories] })
export class DbModule {}
