import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { Hook, HookDelivery, HookFormat, Prisma } from '../generated/client';
import type { EventWithProject } from './event.repository';

export type HookDeliveryFull = HookDelivery & { hook: Hook; event: EventWithProject };

export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  response: string | null;
  error: string | null;
}

/** Outgoing webhooks ("hooks") of a project and their delivery log. */
@Injectable()
export class HookRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: {
    projectId: string;
    url: string;
    events: string[];
    format: HookFormat;
    secret: string;
    createdBy: string;
  }): Promise<Hook> {
    return this.prisma.hook.create({ data });
  }

  list(projectId: string): Promise<Hook[]> {
    return this.prisma.hook.findMany({ where: { projectId }, orderBy: { createdAt: 'asc' } });
  }

  find(id: string): Promise<Hook | null> {
    return this.prisma.hook.findUnique({ where: { id } });
  }

  update(id: string, data: Prisma.HookUpdateInput): Promise<Hook> {
    return this.prisma.hook.update({ where: { id }, data });
  }

  async remove(id: string): Promise<void> {
    await this.prisma.hook.delete({ where: { id } });
  }

  deliveries(hookId: string, take: number): Promise<HookDelivery[]> {
    return this.prisma.hookDelivery.findMany({
      where: { hookId },
      orderBy: [{ createdAt: 'desc' }, { eventId: 'desc' }],
      take,
    });
  }

  delivery(id: string): Promise<HookDeliveryFull | null> {
    return this.prisma.hookDelivery.findUnique({
      where: { id },
      include: { hook: true, event: { include: { project: { select: { owner: true, name: true } } } } },
    });
  }

  /** A new delivery of an event already sent (GitHub's "redeliver"): a row of its own, with its own log. */
  redeliver(of: HookDelivery): Promise<HookDelivery> {
    return this.prisma.hookDelivery.create({ data: { hookId: of.hookId, eventId: of.eventId, redeliveryOf: of.id } });
  }

  /** Is an earlier event still on its way to this hook? Deliveries go out in event order. */
  async earlierPending(d: HookDelivery): Promise<boolean> {
    const n = await this.prisma.hookDelivery.count({
      where: { hookId: d.hookId, status: 'pending', eventId: { lt: d.eventId }, redeliveryOf: null },
    });
    return n > 0;
  }

  /** Deliveries still pending since before `before` (for re-adding jobs Redis may have lost). */
  pendingSince(before: Date, take: number): Promise<HookDelivery[]> {
    return this.prisma.hookDelivery.findMany({
      where: { status: 'pending', createdAt: { lt: before }, hook: { disabledAt: null } },
      orderBy: { createdAt: 'asc' },
      take,
    });
  }

  /**
   * Record one attempt. `final` ends the delivery (delivered, or failed for good); the hook's count
   * of failed deliveries in a row is reset by a success, and at `disableAfter` the hook is disabled
   * with the reason, and what is still pending for it fails with that reason.
   */
  recordAttempt(
    deliveryId: string,
    result: AttemptResult,
    final: boolean,
    disableAfter: number,
  ): Promise<{ status: HookDelivery['status']; disabled: string | null }> {
    return this.prisma.$transaction(async (tx) => {
      const now = new Date();
      const status = result.ok ? 'delivered' : final ? 'failed' : 'pending';
      const d = await tx.hookDelivery.update({
        where: { id: deliveryId },
        data: {
          status,
          attempts: { increment: 1 },
          statusCode: result.statusCode,
          durationMs: result.durationMs,
          response: result.response,
          error: result.error,
          lastAttempt: now,
          deliveredAt: result.ok ? now : undefined,
        },
      });
      if (result.ok) {
        await tx.hook.update({ where: { id: d.hookId }, data: { failures: 0 } });
        return { status, disabled: null };
      }
      if (!final) return { status, disabled: null };
      const hook = await tx.hook.update({ where: { id: d.hookId }, data: { failures: { increment: 1 } } });
      if (hook.failures < disableAfter || hook.disabledAt) return { status, disabled: null };
      const reason = `disabled after ${hook.failures} failed deliveries in a row; the last: ${
        result.statusCode ? `HTTP ${result.statusCode}` : result.error
      }`;
      await tx.hook.update({ where: { id: hook.id }, data: { disabledAt: now, disabledReason: reason } });
      await tx.hookDelivery.updateMany({
        where: { hookId: hook.id, status: 'pending' },
        data: { status: 'failed', error: 'the hook was disabled' },
      });
      return { status, disabled: reason };
    });
  }

  /** A hook was disabled meanwhile: this delivery will not go out. */
  async skip(deliveryId: string, reason: string): Promise<void> {
    await this.prisma.hookDelivery.updateMany({
      where: { id: deliveryId, status: 'pending' },
      data: { status: 'failed', error: reason },
    });
  }
}
