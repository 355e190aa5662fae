import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Hook, HookDelivery, HookFormat, HookRepository } from '@dockyard/db';
import { EVENT_TYPES, isEventType } from './catalogue';
import { HookDispatcher } from './hook-dispatcher';

export class HookNotFoundError extends Error {}
export class InvalidHookError extends Error {}

export interface HookSettings {
  url?: string;
  events?: string[];
  format?: HookFormat;
  secret?: string;
}

/** A hook as an admin sees it: never its secret. */
export function hookView(h: Hook) {
  return {
    id: h.id,
    url: h.url,
    events: h.events,
    format: h.format,
    active: !h.disabledAt,
    disabledAt: h.disabledAt,
    disabledReason: h.disabledReason,
    failuresInARow: h.failures,
    createdBy: h.createdBy,
    createdAt: h.createdAt,
  };
}

export function deliveryView(d: HookDelivery) {
  return {
    id: d.id,
    eventId: d.eventId.toString(),
    redeliveryOf: d.redeliveryOf,
    status: d.status,
    attempts: d.attempts,
    statusCode: d.statusCode,
    durationMs: d.durationMs,
    response: d.response,
    error: d.error,
    createdAt: d.createdAt,
    lastAttempt: d.lastAttempt,
    deliveredAt: d.deliveredAt,
  };
}

/** Admins manage a project's outgoing webhooks: subscribe, change, re-enable, redeliver, remove. */
@Injectable()
export class HookAdmin {
  constructor(
    private readonly hooks: HookRepository,
    private readonly dispatcher: HookDispatcher,
  ) {}

  /** Returns the secret once: Dockyard's own when the admin did not set one. */
  async create(projectId: string, settings: HookSettings, by: string): Promise<{ hook: Hook; secret: string }> {
    const secret = settings.secret ?? `dkh_${randomBytes(24).toString('base64url')}`;
    const hook = await this.hooks.create({
      projectId,
      url: checkUrl(settings.url),
      events: checkEvents(settings.events ?? ['*']),
      format: settings.format ?? 'json',
      secret,
      createdBy: by,
    });
    return { hook, secret };
  }

  async update(projectId: string, id: string, settings: HookSettings): Promise<Hook> {
    await this.get(projectId, id);
    return this.hooks.update(id, {
      url: settings.url === undefined ? undefined : checkUrl(settings.url),
      events: settings.events === undefined ? undefined : checkEvents(settings.events),
      format: settings.format,
      secret: settings.secret,
    });
  }

  /** Turn a disabled hook back on; its failure count starts again. */
  async enable(projectId: string, id: string): Promise<Hook> {
    await this.get(projectId, id);
    return this.hooks.update(id, { disabledAt: null, disabledReason: null, failures: 0 });
  }

  async remove(projectId: string, id: string): Promise<void> {
    await this.get(projectId, id);
    await this.hooks.remove(id);
  }

  list(projectId: string): Promise<Hook[]> {
    return this.hooks.list(projectId);
  }

  async get(projectId: string, id: string): Promise<Hook> {
    const hook = await this.hooks.find(id);
    if (!hook || hook.projectId !== projectId) throw new HookNotFoundError(`no hook ${id} in this project`);
    return hook;
  }

  async deliveries(projectId: string, id: string, take = 50): Promise<HookDelivery[]> {
    await this.get(projectId, id);
    return this.hooks.deliveries(id, take);
  }

  /** Send a delivery's event again, as a new delivery with its own log. */
  async redeliver(projectId: string, hookId: string, deliveryId: string): Promise<HookDelivery> {
    const hook = await this.get(projectId, hookId);
    const d = await this.hooks.delivery(deliveryId);
    if (!d || d.hookId !== hookId) throw new HookNotFoundError(`no delivery ${deliveryId} of hook ${hookId}`);
    if (hook.disabledAt) throw new InvalidHookError(`the hook is disabled (${hook.disabledReason}); enable it first`);
    const again = await this.hooks.redeliver(d);
    await this.dispatcher.enqueue(again.id);
    return again;
  }
}

function checkUrl(url: string | undefined): string {
  let u: URL;
  try {
    u = new URL(url ?? '');
  } catch {
    throw new InvalidHookError(`"${url ?? ''}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidHookError('a hook URL must be http(s)');
  return u.toString();
}

function checkEvents(events: string[]): string[] {
  if (!events.length) throw new InvalidHookError('subscribe to at least one event, or "*" for all');
  const unknown = events.filter((e) => e !== '*' && !isEventType(e));
  if (unknown.length)
    throw new InvalidHookError(`unknown event(s): ${unknown.join(', ')} (known: ${EVENT_TYPES.join(', ')})`);
  return [...new Set(events)];
}
