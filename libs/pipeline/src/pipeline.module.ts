import { Module } from '@nestjs/common';
import { EventsModule } from '@dockyard/events';
import { GitSource } from '@dockyard/git';
import { GitHubStatuses, WebhookVerifier } from '@dockyard/github';
import { AccessTokens } from './access';
import { BuildCommands } from './build-commands';
import { BuildRunner } from './build-runner';
import { WebhookIntake } from './intake.service';
import { StatusPublisher } from './status-publisher';
import { TestSuite } from './test-suite';
import { Clock } from './clock';
import { PromotionService } from './promotion/promotion.service';
import { ChangeProjectSettings, RegisterProject } from './projects';
import { WaitingNotice } from './promotion/waiting-notice';

/** The pipeline's use cases, shared by the api (intake, commands) and the worker (runner, statuses). */
@Module({
  imports: [EventsModule],
  providers: [
    AccessTokens,
    GitSource,
    GitHubStatuses,
    WebhookVerifier,
    WebhookIntake,
    StatusPublisher,
    BuildRunner,
    BuildCommands,
    TestSuite,
    Clock,
    PromotionService,
    WaitingNotice,
    ChangeProjectSettings,
    RegisterProject,
  ],
  exports: [
    ChangeProjectSettings,
    RegisterProject,
    AccessTokens,
    Clock,
    PromotionService,
    WebhookIntake,
    StatusPublisher,
    BuildRunner,
    BuildCommands,
    GitSource,
  ],
})
export class PipelineModule {}
