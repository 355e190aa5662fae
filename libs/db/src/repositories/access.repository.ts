import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { ApiToken, Role, User } from '../generated/client';
import { isUniqueViolation } from './errors';

export class UserExistsError extends Error {}

/** Users and API tokens. */
@Injectable()
export class AccessRepository {
  constructor(private readonly prisma: PrismaService) {}

  async createUser(data: {
    login: string;
    role: Role;
    displayName?: string;
    githubLogin?: string;
    passwordHash?: string;
  }): Promise<User> {
    try {
      return await this.prisma.user.create({ data });
    } catch (err) {
      if (isUniqueViolation(err)) throw new UserExistsError(`user ${data.login} already exists`);
      throw err;
    }
  }

  findUserById(id: string): Promise<User | null> {
    return this.prisma.user.findUnique({ where: { id } });
  }

  /** Active users whose role may approve (policy decides who of them may approve a given promotion). */
  approvers(): Promise<User[]> {
    return this.prisma.user.findMany({
      where: { role: { in: ['approver', 'admin'] }, disabledAt: null },
      orderBy: { login: 'asc' },
    });
  }

  findUser(login: string): Promise<User | null> {
    return this.prisma.user.findUnique({ where: { login } });
  }

  createToken(data: {
    userId: string;
    name: string;
    tokenHash: string;
    prefix: string;
    scopes: string[];
    expiresAt?: Date;
  }): Promise<ApiToken> {
    return this.prisma.apiToken.create({ data });
  }

  findToken(tokenHash: string): Promise<(ApiToken & { user: User }) | null> {
    return this.prisma.apiToken.findUnique({ where: { tokenHash }, include: { user: true } });
  }

  /** Revoke a token (only the owner's, when ownerId is given); returns it, or null when none was revoked. */
  async revokeToken(id: string, ownerId?: string): Promise<(ApiToken & { user: User }) | null> {
    const { count } = await this.prisma.apiToken.updateMany({
      where: { id, userId: ownerId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return count ? this.prisma.apiToken.findUnique({ where: { id }, include: { user: true } }) : null;
  }

  /** End every dashboard session of a user: the session version in their cookies no longer matches. */
  async endSessions(userId: string): Promise<void> {
    await this.prisma.user.update({ where: { id: userId }, data: { sessionVersion: { increment: 1 } } });
  }

  async touchToken(id: string): Promise<void> {
    await this.prisma.apiToken.update({ where: { id }, data: { lastUsedAt: new Date() } });
  }
}
