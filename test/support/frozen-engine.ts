import net from 'node:net';

/**
 * A TCP proxy in front of a Docker Engine that can stop answering on command, as an engine that
 * hangs does: connections stay open, nothing comes back. Point DOCKER_HOST at `host`.
 */
export class FreezableEngine {
  private server?: net.Server;
  private frozen = false;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    this.server = net.createServer((client) => {
      const upstream = this.target.startsWith('unix://')
        ? net.connect(this.target.slice('unix://'.length))
        : net.connect(Number(new URL(this.target.replace(/^tcp:/, 'http:')).port), '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      // While frozen, bytes in either direction are held back, never delivered.
      client.on('data', (chunk) => this.frozen || upstream.write(chunk));
      upstream.on('data', (chunk) => this.frozen || client.write(chunk));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `tcp://127.0.0.1:${(this.server!.address() as net.AddressInfo).port}`;
  }

  freeze(): void {
    this.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
