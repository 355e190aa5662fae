import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { EnvironmentVariable } from '../generated/client';

/** An environment's plain variables (its secrets are `SecretRepository`'s). */
@Injectable()
export class EnvironmentVariableRepository {
  constructor(private readonly prisma: PrismaService) {}

  set(environmentId: string, name: string, value: string, updatedBy: string): Promise<EnvironmentVariable> {
    return this.prisma.environmentVariable.upsert({
      where: { environmentId_name: { environmentId, name } },
      create: { environmentId, name, value, updatedBy },
      update: { value, updatedBy },
    });
  }

  async remove(environmentId: string, name: string): Promise<boolean> {
    const { count } = await this.prisma.environmentVariable.deleteMany({ where: { environmentId, name } });
    return count > 0;
  }

  list(environmentId: string): Promise<EnvironmentVariable[]> {
    return this.prisma.environmentVariable.findMany({ where: { environmentId }, orderBy: { name: 'asc' } });
  }
}
