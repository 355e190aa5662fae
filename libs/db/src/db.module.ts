import { Global, Module } from '@nestjs/common';
import { EventListener } from './event-listener';
import { PrismaService } from './prisma.service';
import {
  AccessRepository,
  AuditRepository,
  BuildRepository,
  DeliveryRepository,
  DeployRepository,
  EnvironmentRepository,
  DoraRepository,
  EventRepository,
  HookRepository,
  EnvironmentVariableRepository,
  GitHubDeploymentRepository,
  HostStatusRepository,
  ProjectRepository,
  PromotionRepository,
  ReleaseRepository,
  SecretRepository,
  PolicyRepository,
  SignOffRepository,
} from './repositories';

const repositories = [
  AccessRepository,
  AuditRepository,
  BuildRepository,
  DeliveryRepository,
  DeployRepository,
  EnvironmentRepository,
  DoraRepository,
  EventRepository,
  HookRepository,
  EnvironmentVariableRepository,
  GitHubDeploymentRepository,
  HostStatusRepository,
  ProjectRepository,
  PromotionRepository,
  ReleaseRepository,
  SecretRepository,
  PolicyRepository,
  SignOffRepository,
];

@Global()
@Module({
  providers: [PrismaService, EventListener, ...repositories],
  exports: [PrismaService, EventListener, ...repositories],
})
export class DbModule {}
