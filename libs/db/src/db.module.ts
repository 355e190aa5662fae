import { Global, Module } from '@nestjs/common';
import { PrismaService } from './prisma.service';
import {
  AccessRepository,
  AuditRepository,
  BuildRepository,
  DeliveryRepository,
  DeployRepository,
  EnvironmentRepository,
  ProjectRepository,
  PromotionRepository,
  ReleaseRepository,
  SecretRepository,
} from './repositories';

const repositories = [
  AccessRepository,
  AuditRepository,
  BuildRepository,
  DeliveryRepository,
  DeployRepository,
  EnvironmentRepository,
  ProjectRepository,
  PromotionRepository,
  ReleaseRepository,
  SecretRepository,
];

@Global()
@Module({ providers: [PrismaService, ...repositories], exports: [PrismaService, ...repositories] })
export class DbModule {}
