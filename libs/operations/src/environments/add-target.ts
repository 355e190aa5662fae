import { Injectable } from '@nestjs/common';
import { AuditRepository, EnvironmentRepository, Target, TargetKind } from '@dockyard/db';
import { InvalidRequestError } from '@dockyard/pipeline';
import { SecretAuthor, TargetKeyVault } from '@dockyard/secrets';
import { EnvironmentLookup, EnvironmentRef } from './environment-lookup';

export interface AddTargetCommand extends EnvironmentRef {
  host: string;
  kind: TargetKind;
  address: string;
  /** TLS: the CA that signed the engine's certificate, and the client certificate (PEM). */
  tlsCa?: string;
  tlsCert?: string;
  /** The TLS client key or the SSH private key (PEM): sealed at once, never shown again. */
  key?: string;
  proxyPort?: number;
  proxyBind?: string;
  position?: number;
  by: SecretAuthor;
}

const HOST = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const PEM = /-----BEGIN [A-Z0-9 ]+-----/;
/** Where a local environment's proxy ports start when the admin names none. */
const FIRST_PROXY_PORT = 8100;

/** Add a Docker Engine endpoint (a host) to an environment: the local socket, TCP with TLS, or SSH. */
@Injectable()
export class AddTarget {
  constructor(
    private readonly lookup: EnvironmentLookup,
    private readonly environments: EnvironmentRepository,
    private readonly keys: TargetKeyVault,
    private readonly audit: AuditRepository,
  ) {}

  async execute(cmd: AddTargetCommand): Promise<Target> {
    if (!HOST.test(cmd.host))
      throw new InvalidRequestError(`host name "${cmd.host}": lower-case letters, digits, ., - and _`);
    this.checkEndpoint(cmd);
    const environment = await this.lookup.environment(cmd);
    const proxyPort = cmd.proxyPort ?? (await this.freeProxyPort());
    const target = await this.environments.addTarget(environment.id, {
      name: cmd.host,
      kind: cmd.kind,
      address: cmd.address,
      tlsCa: cmd.tlsCa ?? null,
      tlsCert: cmd.tlsCert ?? null,
      keyCipher: cmd.key ? this.keys.seal(environment.id, cmd.host, cmd.key) : null,
      proxyPort,
      proxyBind: cmd.proxyBind,
      position: cmd.position ?? environment.targets.length,
    });
    await this.audit.record({
      ...cmd.by,
      action: 'environment.host_added',
      projectId: environment.projectId,
      subject: `${cmd.owner}/${cmd.name}@${cmd.stage}`,
      detail: { host: cmd.host, kind: cmd.kind, address: cmd.address, proxyPort, key: cmd.key ? 'sealed' : 'none' },
    });
    return target;
  }

  private checkEndpoint(cmd: AddTargetCommand): void {
    const expected = {
      socket: /^unix:\/\/\/\S+$/,
      tls: /^tcp:\/\/[^\s/]+:\d+$/,
      ssh: /^ssh:\/\/[^\s@/]+@[^\s/]+(:\d+)?$/,
    }[cmd.kind];
    if (!expected) throw new InvalidRequestError(`kind must be socket, tls or ssh`);
    if (!expected.test(cmd.address)) {
      const example = {
        socket: 'unix:///var/run/docker.sock',
        tls: 'tcp://10.0.0.5:2376',
        ssh: 'ssh://deploy@10.0.0.5:22',
      };
      throw new InvalidRequestError(
        `a ${cmd.kind} host's address looks like ${example[cmd.kind]}, not "${cmd.address}"`,
      );
    }
    if (cmd.kind === 'tls' && !(cmd.tlsCa && cmd.tlsCert && cmd.key)) {
      throw new InvalidRequestError('a tls host needs tlsCa, tlsCert and key (the client key), all PEM');
    }
    if (cmd.kind === 'ssh' && !cmd.key) throw new InvalidRequestError('an ssh host needs key (the private key, PEM)');
    if (cmd.kind === 'socket' && (cmd.key || cmd.tlsCa || cmd.tlsCert)) {
      throw new InvalidRequestError('a socket host takes no certificates or keys');
    }
    for (const [field, value] of Object.entries({ tlsCa: cmd.tlsCa, tlsCert: cmd.tlsCert, key: cmd.key })) {
      if (value !== undefined && !PEM.test(value)) throw new InvalidRequestError(`${field} must be PEM`);
    }
  }

  private async freeProxyPort(): Promise<number> {
    const used = new Set(await this.environments.proxyPortsInUse());
    let port = FIRST_PROXY_PORT;
    while (used.has(port)) port++;
    return port;
  }
}
