import { DockerEngine, LABELS } from '@dockyard/docker';

/**
 * The container a worker SIGKILLed in the middle of a test leaves behind: running `sleep 300` from
 * `image`, labelled as this deployment's and as the dead attempt's (`labels` says of which build or
 * promotion).
 */
export async function leftoverContainer(
  docker: DockerEngine,
  image: string,
  labels: Record<string, string>,
): Promise<string> {
  const container = await docker.docker.createContainer({
    Image: image,
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ['sleep 300'],
    Labels: { [LABELS.instance]: docker.instance, [LABELS.attempt]: 'the-dead-attempt', ...labels },
    HostConfig: { NetworkMode: 'none' },
  });
  await container.start();
  return container.id;
}

export function containerExists(docker: DockerEngine, id: string): Promise<boolean> {
  return docker.docker
    .getContainer(id)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}
