import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { BUSYBOX } from './git-repo';

/**
 * A small HTTP service image (FROM scratch + static busybox httpd on port 8080 serving `body` at /),
 * built on the main engine and pushed to the registry; returns its repository and digest.
 * `healthy: false` makes an image whose health check can never pass (nothing listens on 8080).
 */
export async function pushServiceImage(opts: {
  registryHost: string;
  repository: string;
  body: string;
  healthy?: boolean;
}): Promise<{ repository: string; digest: string; ref: string }> {
  const docker = new Docker({ socketPath: process.env.DOCKER_HOST!.replace('unix://', '') });
  const dir = mkdtempSync(path.join(tmpdir(), 'dockyard-svc-'));
  try {
    copyFileSync(BUSYBOX, path.join(dir, 'busybox'));
    mkdirSync(path.join(dir, 'www'));
    writeFileSync(path.join(dir, 'www/index.html'), opts.body);
    const port = opts.healthy === false ? 8081 : 8080;
    writeFileSync(
      path.join(dir, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
        'COPY www /www',
        `CMD ["httpd", "-f", "-p", "${port}", "-h", "/www"]`,
      ].join('\n'),
    );
    const tag = `${opts.registryHost}/${opts.repository}:${opts.body.replace(/[^a-zA-Z0-9]/g, '')}`;
    const context = execFileSync('tar', ['-c', '-C', dir, '.'], { maxBuffer: 64 * 1024 * 1024 });
    const build = await docker.buildImage(context as never, { t: tag, rm: true, forcerm: true });
    const built = await follow(docker, build);
    const failed = built.find((e) => e.error);
    if (failed) throw new Error(`build failed: ${failed.error}`);
    const push = await docker.getImage(tag).push({ authconfig: { serveraddress: opts.registryHost } });
    const pushed = await follow(docker, push);
    const digest = pushed.map((e) => (e.aux as { Digest?: string } | undefined)?.Digest).find(Boolean);
    if (!digest) throw new Error(`push of ${tag} reported no digest: ${JSON.stringify(pushed.at(-1))}`);
    await docker
      .getImage(tag)
      .remove()
      .catch(() => undefined);
    return { repository: opts.repository, digest, ref: `${opts.registryHost}/${opts.repository}@${digest}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<{ error?: string; aux?: unknown }[]> {
  return new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) =>
      err ? reject(err) : resolve(out),
    ),
  );
}

/**
 * A client sending a GET every few milliseconds (one at a time, keep-alive like a browser) until
 * stopped: counts failures and records each distinct answer in the order first seen.
 */
export function steadyLoad(url: string, everyMs = 5) {
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const seen: string[] = [];
  const done = (async () => {
    while (!stop) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        const body = (await res.text()).trim();
        if (res.status !== 200) failures.push(`${res.status} ${body.slice(0, 80)}`);
        else {
          ok++;
          if (seen.at(-1) !== body) seen.push(body);
        }
      } catch (err) {
        failures.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return { ok, failures, seen };
    },
  };
}
