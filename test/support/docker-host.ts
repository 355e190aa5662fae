import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import Docker from 'dockerode';
import { freePort } from './net';

/**
 * An extra Docker Engine on this machine, standing in for a remote host: its own bridge, data
 * root, exec root and address pool (so it never fights the main engine over docker0 or subnets),
 * reachable over its unix socket and, when asked, over TCP with TLS client certificates and over
 * SSH (an sshd of its own on 127.0.0.1 with key auth, as `docker -H ssh://` expects).
 *
 * Bridges in use by the suites: dk2br 172.31.0.0/16 (environments), dk3br 172.30.0.0/16 (scale-out
 * e2e) and dk4br 172.29.0.0/16 (fault suite), dk5br 172.28.0.0/16 (builds), dk6br 172.27.0.0/16
 * (docker-host self-test); dk9br 172.24.0.0/16 is bench/burst's second engine (scripts/bench.sh).
 * Pick a free one for a new suite.
 */
export interface DockerHostOptions {
  /** Short and unique: names the folders and the socket. */
  name: string;
  bridge: string;
  /** The bridge's address with its prefix, e.g. 172.31.0.1/16. */
  subnet: string;
  /** The address pool for the engine's user networks; by default 10.<second octet + 200>.0.0/16. */
  pool?: string;
  tls?: boolean;
  ssh?: boolean;
}

export interface DockerHost {
  name: string;
  /** unix:///…/docker.sock */
  socket: string;
  tls?: { url: string; port: number; ca: string; cert: string; key: string };
  ssh?: { url: string; host: string; port: number; username: string; privateKey: string };
  /** dockerode over the socket, or over TLS / SSH when this host was started with them. */
  client(via?: 'unix' | 'tls' | 'ssh'): Docker;
  /** Stop the engine (SIGKILL to imitate a crash, SIGTERM by default); its data is kept. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again after stop(), on the same addresses. */
  start(): Promise<void>;
  /** Stop everything and remove the data. */
  destroy(): Promise<void>;
}

const ROOT = '/var/lib/dockyard-test-hosts';

export async function startDockerHost(options: DockerHostOptions): Promise<DockerHost> {
  const dir = path.join(ROOT, options.name);
  const run = `/run/dkt-${options.name}`;
  mkdirSync(dir, { recursive: true });
  mkdirSync(run, { recursive: true });
  const socketPath = path.join(run, 'docker.sock');
  const pool = options.pool ?? defaultPool(options.subnet);
  ensureBridge(options.bridge, options.subnet);

  const tlsPort = options.tls ? await freePort() : 0;
  const tls = options.tls ? makeCertificates(path.join(dir, 'tls')) : undefined;
  const sshPort = options.ssh ? await freePort() : 0;
  const sshKeys = options.ssh ? makeSshKeys(path.join(dir, 'ssh')) : undefined;

  let dockerd: ChildProcess | undefined;
  let sshd: ChildProcess | undefined;

  const start = async () => {
    // After a crash the old pid file would make dockerd refuse to start.
    rmSync(socketPath, { force: true });
    rmSync(path.join(run, 'docker.pid'), { force: true });
    rmSync(path.join(run, 'exec', 'containerd', 'containerd.pid'), { force: true });
    const args = [
      '--bridge',
      options.bridge,
      '--iptables=false',
      '--ip-masq=false',
      '--default-address-pool',
      `base=${pool},size=24`,
      '--data-root',
      path.join(dir, 'root'),
      '--exec-root',
      path.join(run, 'exec'),
      '--pidfile',
      path.join(run, 'docker.pid'),
      // Without it, a restart on a data root that has a default "bridge" network from before makes
      // dockerd (with --default-address-pool) delete the interface named docker0 — the main engine's.
      '--live-restore',
      '--storage-driver',
      'overlay2',
      '--host',
      `unix://${socketPath}`,
    ];
    if (tls) {
      args.push('--tlsverify', `--tlscacert=${tls.caFile}`, `--tlscert=${tls.serverCert}`, `--tlskey=${tls.serverKey}`);
      args.push('--host', `tcp://127.0.0.1:${tlsPort}`);
    }
    dockerd = spawn('dockerd', args, {
      detached: true,
      stdio: ['ignore', 'ignore', logFile(ROOT, `${options.name}-dockerd.log`)],
    });
    dockerd.unref();
    await waitFor(`dockerd ${options.name}`, 60_000, () => new Docker({ socketPath }).ping().then(() => true));
    if (sshKeys && !sshd) {
      sshd = startSshd(path.join(dir, 'ssh'), sshPort, sshKeys.publicKey, `unix://${socketPath}`);
      await waitFor(`sshd ${options.name}`, 20_000, () => portOpen(sshPort));
    }
  };

  const stopProcess = async (child: ChildProcess | undefined, signal: NodeJS.Signals) => {
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid, signal);
    } catch {
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 30_000)))]);
    clearTimeout(timer);
  };

  await start();

  const host: DockerHost = {
    name: options.name,
    socket: `unix://${socketPath}`,
    tls: tls && {
      url: `tcp://127.0.0.1:${tlsPort}`,
      port: tlsPort,
      ca: readFileSync(tls.caFile, 'utf8'),
      cert: readFileSync(tls.clientCert, 'utf8'),
      key: readFileSync(tls.clientKey, 'utf8'),
    },
    ssh: sshKeys && {
      url: `ssh://root@127.0.0.1:${sshPort}`,
      host: '127.0.0.1',
      port: sshPort,
      username: 'root',
      privateKey: sshKeys.privateKey,
    },
    client(via = 'unix') {
      if (via === 'tls') {
        if (!host.tls) throw new Error(`${options.name} was started without tls`);
        const { port, ca, cert, key } = host.tls;
        return new Docker({ protocol: 'https', host: '127.0.0.1', port, ca, cert, key });
      }
      if (via === 'ssh') {
        if (!host.ssh) throw new Error(`${options.name} was started without ssh`);
        const { port, username, privateKey } = host.ssh;
        return new Docker({ protocol: 'ssh', host: '127.0.0.1', port, username, sshOptions: { privateKey } } as never);
      }
      return new Docker({ socketPath });
    },
    async stop(signal = 'SIGTERM') {
      await stopProcess(dockerd, signal);
      dockerd = undefined;
    },
    start,
    async destroy() {
      await stopProcess(sshd, 'SIGTERM');
      sshd = undefined;
      // Containers a test left behind on this engine go with it.
      const docker = new Docker({ socketPath });
      const running = await docker.listContainers({ all: true }).catch(() => []);
      await Promise.all(
        running.map((c) =>
          docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => undefined),
        ),
      );
      await stopProcess(dockerd, 'SIGTERM');
      dockerd = undefined;
      // dockerd bind-mounts its data root onto itself and may leave it behind.
      execFileSync('sh', ['-c', `umount -lR ${run}/exec 2>/dev/null; umount -lR ${dir}/root 2>/dev/null; true`]);
      rmSync(dir, { recursive: true, force: true });
      rmSync(run, { recursive: true, force: true });
    },
  };
  return host;
}

/** 172.31.0.1/16 → 10.231.0.0/16: a pool that no bridge of either engine uses. */
function defaultPool(subnet: string): string {
  const second = Number(subnet.split('.')[1]);
  return `10.${(second + 200) % 256}.0.0/16`;
}

function ensureBridge(bridge: string, subnet: string): void {
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  try {
    ip('link', 'show', bridge);
  } catch {
    ip('link', 'add', bridge, 'type', 'bridge');
  }
  if (!ip('-4', 'addr', 'show', 'dev', bridge).includes(subnet.split('/')[0])) ip('addr', 'add', subnet, 'dev', bridge);
  ip('link', 'set', bridge, 'up');
}

function makeCertificates(dir: string) {
  const f = (name: string) => path.join(dir, name);
  const files = {
    caFile: f('ca.pem'),
    serverCert: f('server-cert.pem'),
    serverKey: f('server-key.pem'),
    clientCert: f('client-cert.pem'),
    clientKey: f('client-key.pem'),
  };
  if (existsSync(files.clientKey)) return files;
  mkdirSync(dir, { recursive: true });
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=dockyard-test-ca',
    '-keyout',
    'ca-key.pem',
    '-out',
    'ca.pem',
  );
  const sign = (name: string, cn: string, ext: string) => {
    writeFileSync(f(`${name}.ext`), ext);
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.csr`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}-cert.pem`,
    );
  };
  sign('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  sign('client', 'dockyard', 'extendedKeyUsage=clientAuth\n');
  return files;
}

function makeSshKeys(dir: string): { privateKey: string; publicKey: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [file, type] of [
    ['client_key', 'ed25519'],
    ['host_key', 'ed25519'],
  ]) {
    if (!existsSync(path.join(dir, file)))
      execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', path.join(dir, file)], { stdio: 'ignore' });
  }
  return {
    privateKey: readFileSync(path.join(dir, 'client_key'), 'utf8'),
    publicKey: readFileSync(path.join(dir, 'client_key.pub'), 'utf8'),
  };
}

function startSshd(dir: string, port: number, publicKey: string, dockerHost: string): ChildProcess {
  if (!existsSync('/usr/sbin/sshd')) {
    throw new Error('sshd is missing: `apt-get install openssh-server` (npm test installs it)');
  }
  mkdirSync('/run/sshd', { recursive: true });
  writeFileSync(path.join(dir, 'authorized_keys'), publicKey, { mode: 0o600 });
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${path.join(dir, 'host_key')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    // `docker system dial-stdio` on the far side talks to this engine, not the default one.
    `SetEnv DOCKER_HOST=${dockerHost}`,
    'MaxStartups 100:30:200',
    'MaxSessions 100',
  ].join('\n');
  writeFileSync(path.join(dir, 'sshd_config'), `${config}\n`);
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(dir, 'sshd_config')], {
    detached: true,
    stdio: ['ignore', 'ignore', logFile(dir, 'sshd.log')],
  });
  child.unref();
  return child;
}

function logFile(dir: string, name: string): number {
  mkdirSync(dir, { recursive: true });
  return openSync(path.join(dir, name), 'a');
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${ms / 1000}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
