import type { PipelineService } from '@dockyard/pipeline';

/** The service block of .dockyard.yml with every default filled in. */
export interface ServiceShape {
  port: number;
  command?: string;
  env: string[];
  health: {
    http?: string;
    command?: string;
    intervalMs: number;
    timeoutMs: number;
    startPeriodMs: number;
    retries: number;
  };
  stopGraceMs: number;
  drainMs: number;
}

export const DEFAULT_SERVICE: ServiceShape = {
  port: 8080,
  env: [],
  health: { http: '/', intervalMs: 1000, timeoutMs: 2000, startPeriodMs: 0, retries: 3 },
  stopGraceMs: 10_000,
  drainMs: 1000,
};

export function serviceShape(service: PipelineService | undefined | null): ServiceShape {
  if (!service) return DEFAULT_SERVICE;
  const h = service.health ?? {};
  return {
    port: service.port,
    command: service.command,
    env: service.env ?? [],
    health: {
      http: h.command ? undefined : (h.http ?? '/'),
      command: h.command,
      intervalMs: h.interval ?? DEFAULT_SERVICE.health.intervalMs,
      timeoutMs: h.timeout ?? DEFAULT_SERVICE.health.timeoutMs,
      startPeriodMs: h.startPeriod ?? DEFAULT_SERVICE.health.startPeriodMs,
      retries: h.retries ?? DEFAULT_SERVICE.health.retries,
    },
    stopGraceMs: service.stopGracePeriod ?? DEFAULT_SERVICE.stopGraceMs,
    drainMs: service.drain ?? DEFAULT_SERVICE.drainMs,
  };
}

/** Docker's own health check for the service: the command, or an HTTP GET of the path inside the container. */
export function dockerHealthcheck(shape: ServiceShape) {
  const h = shape.health;
  const url = `http://127.0.0.1:${shape.port}${h.http}`;
  // Docker kills a check that outlives its timeout, so the client needs no timeout of its own.
  const test =
    h.command ??
    `if command -v wget >/dev/null; then wget -q -O /dev/null ${url}; else curl -fsS -o /dev/null ${url}; fi`;
  const ns = (ms: number) => ms * 1_000_000;
  return {
    Test: ['CMD-SHELL', test],
    Interval: ns(h.intervalMs),
    Timeout: ns(h.timeoutMs),
    StartPeriod: ns(h.startPeriodMs),
    Retries: h.retries,
  };
}
