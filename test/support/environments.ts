import { TargetEngine } from '@dockyard/environments';
import type { TestApp } from './app';

/**
 * A repository's files for a small web service: busybox httpd on `port` (8080, the default service
 * port) serving `body` at /. Another port makes a release whose health check never passes.
 */
export function serviceFiles(body: string, port = 8080): Record<string, string> {
  return {
    Dockerfile: [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
      'COPY www /www',
      `CMD ["httpd", "-f", "-p", "${port}", "-h", "/www"]`,
    ].join('\n'),
    'www/index.html': body,
  };
}

/** Remove what a project's environments put on this machine's engine: their containers and networks. */
export async function removeEnvironmentsOf(t: TestApp, owner: string, name: string): Promise<void> {
  const local = new TargetEngine('local', { kind: 'socket', address: process.env.DOCKER_HOST! });
  for (const env of await t.prisma.environment.findMany({ where: { project: { owner, name } } })) {
    for (const c of await local.owned({ 'dev.dockyard.environment': env.id })) await local.remove(c.id);
    const nets = await local.docker.listNetworks({ filters: { label: [`dev.dockyard.environment=${env.id}`] } });
    for (const n of nets)
      await local.docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => undefined);
  }
}
