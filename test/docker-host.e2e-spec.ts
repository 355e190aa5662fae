import Docker from 'dockerode';
import { DockerHost, startDockerHost } from './support/docker-host';

// The extra engine other suites use as a "remote host": reachable over its socket, TLS and SSH.
describe('an extra Docker Engine for tests', () => {
  let host: DockerHost;

  beforeAll(async () => {
    host = await startDockerHost({ name: 'selftest', bridge: 'dk6br', subnet: '172.27.0.1/16', tls: true, ssh: true });
  }, 90_000);
  afterAll(() => host?.destroy(), 60_000);

  it('answers over its socket, over TLS with a client certificate, and over SSH', async () => {
    for (const via of ['unix', 'tls', 'ssh'] as const) {
      const info = (await host.client(via).info()) as { DockerRootDir: string };
      expect(info.DockerRootDir).toContain('/selftest/');
    }
  }, 60_000);

  it('refuses a TLS client without a certificate', async () => {
    const anonymous = new Docker({ protocol: 'https', host: '127.0.0.1', port: host.tls!.port, ca: host.tls!.ca });
    await expect(anonymous.ping()).rejects.toThrow();
  });

  it('stops like a crashed host and comes back on the same addresses', async () => {
    await host.stop('SIGKILL');
    await expect(host.client('tls').ping()).rejects.toThrow();
    await host.start();
    await expect(host.client('tls').ping()).resolves.toBeTruthy();
  }, 90_000);
});
