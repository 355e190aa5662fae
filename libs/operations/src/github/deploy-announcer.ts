import { Injectable } from '@nestjs/common';
import type { DeployStatus } from '@dockyard/db';
import type { DeployWatcher } from '@dockyard/environments';
import { DeployEvents } from '@dockyard/events';
import { DeploymentPublisher } from './deployment-publisher';

/** Every deploy status change goes to GitHub Deployments (through the statuses queue) and the event stream. */
@Injectable()
export class DeployAnnouncer implements DeployWatcher {
  constructor(
    private readonly github: DeploymentPublisher,
    private readonly events: DeployEvents,
  ) {}

  async changed(deployId: string, status: DeployStatus): Promise<void> {
    await this.github.announce(deployId, status);
    await this.events.changed(deployId, status);
  }
}
