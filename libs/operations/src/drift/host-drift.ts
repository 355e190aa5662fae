import type { HostObservation } from '@dockyard/db';

/** One service container of an environment on a host, as its engine describes it. */
export interface SeenContainer {
  name: string;
  running: boolean;
  /** Docker's health status, when the container has a check. */
  health?: string;
  /** The reference it was created from (`registry/repo@sha256:…`). */
  image: string;
  labels: Record<string, string>;
  /** Its environment, `NAME=value` lines (the image's own defaults included). */
  env: string[];
}

export interface ExpectedRelease {
  /** What the stage's Release records; null when it holds nothing yet. */
  digest: string | null;
  /** The variables and secrets the environment gives its containers. */
  env: Record<string, string>;
  /** The image's own `NAME=value` defaults, which every container of it carries too. */
  imageEnv: string[];
}

const DIGEST_LABEL = 'dev.dockyard.digest';

/**
 * In sync, drifted or down: what a host runs compared with what is recorded. Reasons name
 * containers and variables, never a value (values may be secrets).
 */
export function compareHost(expected: ExpectedRelease, containers: SeenContainer[]): HostObservation {
  const running = containers.filter((c) => c.running);
  if (!running.length) {
    const detail = expected.digest
      ? containers.length
        ? `no container is running (${containers.map((c) => c.name).join(', ')} stopped)`
        : 'no container of this environment is on the host'
      : 'nothing deployed yet';
    return { state: 'down', runningDigest: null, healthy: null, detail };
  }
  const unhealthy = running.find((c) => c.health === 'unhealthy');
  const runningDigest = digestOf(running[0]);
  if (unhealthy) {
    return { state: 'down', runningDigest, healthy: false, detail: `container ${unhealthy.name} is unhealthy` };
  }
  const healthy = running.every((c) => !c.health || c.health === 'healthy') ? true : null;
  const problems: string[] = [];
  for (const c of running) {
    const digest = digestOf(c);
    if (digest !== expected.digest) {
      problems.push(`${c.name} runs ${short(digest)}, the Release is ${short(expected.digest)}`);
      continue;
    }
    const differs = envDifferences(expected, c.env);
    if (differs.length) problems.push(`${c.name} has other variables than recorded (${differs.join(', ')})`);
  }
  if (problems.length) return { state: 'drifted', runningDigest, healthy, detail: problems.join('; ') };
  return { state: 'in_sync', runningDigest, healthy, detail: null };
}

/** The digest a container really runs: its image reference's, whatever its labels claim. */
function digestOf(c: SeenContainer): string | null {
  const at = c.image.lastIndexOf('@');
  if (at >= 0) return c.image.slice(at + 1);
  // Created from a tag or an image id: not one of Dockyard's (they are always by digest).
  return c.labels[DIGEST_LABEL] ? `${c.image} (labelled ${short(c.labels[DIGEST_LABEL])})` : c.image;
}

function envDifferences(expected: ExpectedRelease, actual: string[]): string[] {
  const have = toMap(actual);
  const image = toMap(expected.imageEnv);
  const names = new Set<string>();
  for (const [name, value] of Object.entries(expected.env)) if (have.get(name) !== value) names.add(name);
  for (const [name, value] of have) {
    if (name in expected.env) continue;
    if (image.get(name) !== value) names.add(name);
  }
  return [...names].sort();
}

function toMap(lines: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq > 0) map.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return map;
}

function short(digest: string | null): string {
  return digest ? digest.replace(/^sha256:/, '').slice(0, 12) : 'nothing';
}
