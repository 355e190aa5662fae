import type { DeployStatus } from '@dockyard/db';

/**
 * Who hears of a deploy's status changes (GitHub Deployments, the event stream): implemented outside
 * this lib and optional. A watcher must not throw into a deploy; errors are logged and ignored.
 */
export interface DeployWatcher {
  changed(deployId: string, status: DeployStatus): Promise<void>;
}

export const DEPLOY_WATCHER = Symbol('DEPLOY_WATCHER');
