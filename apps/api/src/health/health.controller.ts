import { randomUUID } from 'node:crypto';
import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { PrismaService } from '@dockyard/db';
import { DockerEngine } from '@dockyard/docker';
import { JobQueue } from '@dockyard/queue';
import { RegistryClient } from '@dockyard/registry';

const TIMEOUT_MS = 3_000;
/** This process, so that whoever started it can tell that it is the one answering (`npm run up`). */
const INSTANCE = randomUUID();

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS)),
  ]);
}

/** Liveness says the process serves HTTP (and which process it is); readiness checks each outside system and names the one down. */
@ApiExcludeController()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly prisma: PrismaService,
    private readonly queues: JobQueue,
    private readonly docker: DockerEngine,
    private readonly registry: RegistryClient,
  ) {}

  @Get('healthz')
  liveness() {
    return { status: 'ok', pid: process.pid, instance: INSTANCE };
  }

  @Get('readyz')
  @HealthCheck()
  readiness() {
    return this.health.check([
      () => this.check('postgres', () => this.prisma.$queryRaw`select 1`),
      () =>
        this.check('redis', async () => {
          const queue = this.queues.queue('builds');
          const client = await queue.client;
          if (client.status !== 'ready') throw new Error(`connection is ${client.status}`);
          await queue.count();
        }),
      () => this.check('docker', () => this.docker.ping()),
      () => this.check('registry', () => this.registry.ping()),
    ]);
  }

  private async check(key: string, probe: () => Promise<unknown>) {
    const indicator = this.indicator.check(key);
    try {
      await withTimeout(probe());
      return indicator.up();
    } catch (err) {
      return indicator.down({ message: (err as Error).message || String(err) });
    }
  }
}
