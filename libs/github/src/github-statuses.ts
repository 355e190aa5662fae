import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Octokit } from '@octokit/rest';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { githubClient } from './octokit';

export type StatusState = 'pending' | 'success' | 'failure' | 'error';

export interface CommitStatus {
  owner: string;
  repo: string;
  sha: string;
  context: string;
  state: StatusState;
  description: string;
  targetUrl: string;
}

/** Commit statuses on GitHub (or GitHub Enterprise: the API base URL is configurable). */
@Injectable()
export class GitHubStatuses {
  private readonly logger = new Logger(GitHubStatuses.name);
  private readonly octokit?: Octokit;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.octokit = githubClient(config, this.logger);
    if (!this.octokit)
      this.logger.warn('neither GITHUB_TOKEN nor a GitHub App is set: commit statuses are not published');
  }

  get enabled(): boolean {
    return !!this.octokit;
  }

  async publish(status: CommitStatus): Promise<void> {
    if (!this.octokit) return;
    await this.octokit.rest.repos.createCommitStatus({
      owner: status.owner,
      repo: status.repo,
      sha: status.sha,
      context: status.context,
      state: status.state,
      // GitHub cuts descriptions at 140 characters.
      description: status.description.length > 140 ? `${status.description.slice(0, 139)}…` : status.description,
      target_url: status.targetUrl,
    });
  }
}
