import { Inject, Injectable } from '@nestjs/common';
import { createServer } from 'node:net';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { EnvironmentRepository, EnvironmentWithTargets } from '@dockyard/db';

/**
 * On a development machine (LOCAL_ENVIRONMENTS=true, which `npm run up` sets), every stage of a
 * project gets an environment on the local Docker Engine, reached at 127.0.0.1 on a port of its own,
 * the first time something enters it: a newcomer's first push runs somewhere they can open.
 */
@Injectable()
export class LocalEnvironments {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly environments: EnvironmentRepository,
  ) {}

  /** The stage's environment: the one configured, else (when enabled) a local one made now, else null. */
  async forStage(projectId: string, stageId: string): Promise<EnvironmentWithTargets | null> {
    const existing = await this.environments.forStage(stageId);
    if (existing || !this.config.deploy.localEnvironments) return existing;
    const port = await this.freePort();
    const env = await this.environments.upsert(projectId, stageId, { url: `http://127.0.0.1:${port}`, soakMs: 2000 });
    if (!env.targets.length) {
      await this.environments
        .addTarget(env.id, { name: 'local', kind: 'socket', address: this.config.docker.host, proxyPort: port })
        .catch(() => undefined); // made meanwhile by a concurrent deploy: theirs stands
    }
    return this.environments.forStage(stageId);
  }

  /** The first port from the base that no environment has and nothing listens on. */
  private async freePort(): Promise<number> {
    const taken = new Set(await this.environments.proxyPortsInUse());
    for (let port = this.config.deploy.localPortBase; port < this.config.deploy.localPortBase + 1000; port++) {
      if (!taken.has(port) && (await listenable(port))) return port;
    }
    throw new Error(`no free port for a local environment from ${this.config.deploy.localPortBase}`);
  }
}

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
