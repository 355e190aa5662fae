import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Octokit } from '@octokit/rest';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { githubClient } from './octokit';

export type DeploymentState = 'queued' | 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

/** GitHub Deployments: each deploy of an environment is one, with its statuses as it goes. */
@Injectable()
export class GitHubDeployments {
  private readonly logger = new Logger(GitHubDeployments.name);
  private readonly octokit?: Octokit;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.octokit = githubClient(config, this.logger);
  }

  get enabled(): boolean {
    return !!this.octokit;
  }

  /** Create the deployment of a commit to an environment; returns GitHub's id for it. */
  async create(d: {
    owner: string;
    repo: string;
    sha: string;
    environment: string;
    description: string;
    production: boolean;
    payload: Record<string, string>;
  }): Promise<number> {
    const res = await this.octokit!.rest.repos.createDeployment({
      owner: d.owner,
      repo: d.repo,
      ref: d.sha,
      environment: d.environment,
      description: d.description.slice(0, 140),
      production_environment: d.production,
      // Dockyard already decided (its gates ran); GitHub must neither merge nor wait for checks.
      auto_merge: false,
      required_contexts: [],
      payload: d.payload,
    });
    if (!('id' in res.data)) throw new Error(`GitHub did not create the deployment: ${JSON.stringify(res.data)}`);
    return res.data.id;
  }

  async status(s: {
    owner: string;
    repo: string;
    deploymentId: number;
    state: DeploymentState;
    description: string;
    environmentUrl?: string | null;
    logUrl: string;
  }): Promise<void> {
    await this.octokit!.rest.repos.createDeploymentStatus({
      owner: s.owner,
      repo: s.repo,
      deployment_id: s.deploymentId,
      state: s.state,
      description: s.description.slice(0, 140),
      log_url: s.logUrl,
      ...(s.environmentUrl ? { environment_url: s.environmentUrl } : {}),
      // Older deployments of the environment are marked inactive by Dockyard itself, explicitly.
      auto_inactive: false,
    });
  }
}
