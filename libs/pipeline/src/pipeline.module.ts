import { Module } from '@nestjs/common';
import { GitSource } from '@dockyard/git';
import { GitHubStatuses, WebhookVerifier } from '@dockyard/github';
import { AccessTokens } from './access';
import { BuildCommands } from './build-commands';
import { BuildRunner } from './build-runner';
import { WebhookIntake } from './intake.service';
import { StatusPublisher } from './status-publisher';

/** The pipeline's use cases, shared by the api (intake, commands) and the worker (runner, statuses). */
@Module({
  providers: [
    AccessTokens,
    GitSource,
    GitHubStatuses,
    WebhookVerifier,
    WebhookIntake,
    StatusPublisher,
    BuildRunner,
    BuildCommands,
  ],
  exports: [AccessTokens, WebhookIntake, StatusPublisher, BuildRunner, BuildCommands, GitSource],
})
export class PipelineModule {}
