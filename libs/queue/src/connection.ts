import type { RedisOptions } from 'ioredis';

/**
 * ioredis options from a redis:// URL, as BullMQ advises for production: commands wait for Redis
 * instead of failing (maxRetriesPerRequest: null) and reconnects back off up to 5 s. Producers
 * that must not wait (webhook intake) bound the wait themselves: see JobQueue.add.
 */
export function redisOptions(url: string): RedisOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(200 * 2 ** times, 5_000),
  };
}
