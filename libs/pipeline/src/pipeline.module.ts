import { Module } from '@nestjs/common';
import { EventsModule } from '@dockyard/events';
import { SecretsModule } from '@dockyard/secrets';
import { GitSource } from '@dockyard/git';
import { GitHubAppDeliveries, GitHubStatuses, WebhookVerifier } from '@dockyard/github';
import { AccessTokens } from './access';
import { BuildCommands } from './build-commands';
import { BuildRunner } from './build-runner';
import { WebhookIntake } from './intake.service';
import { StatusPublisher } from './status-publisher';
import { TestSuite } from './test-suite';
import { Clock } from './clock';
import { ChangeProjectSettings, RegisterProject } from './projects';
import { StageTestsLease } from './promotion/stage-tests-lease';
import { WaitingNotice } from './promotion/waiting-notice';
import {
  AFTER_STAGE_WRITE,
  ApprovalEligibility,
  ChangePolicy,
  DecidePromotion,
  EnterFirstStage,
  EvaluatePromotion,
  GATES,
  PROMOTION_GATES,
  ProjectPolicies,
  PromotionRecords,
  RangeContributors,
  RequestPromotion,
  RollBackStage,
  STEPS,
  SignOffStage,
} from './promotion';

/** The promotion use cases: one class per action. */
const PROMOTION_USE_CASES = [
  RequestPromotion,
  DecidePromotion,
  RollBackStage,
  ChangePolicy,
  EvaluatePromotion,
  EnterFirstStage,
  SignOffStage,
];

/** The pipeline's use cases, shared by the api (intake, commands) and the worker (runner, statuses). */
@Module({
  imports: [EventsModule, SecretsModule],
  providers: [
    AccessTokens,
    GitSource,
    GitHubStatuses,
    GitHubAppDeliveries,
    WebhookVerifier,
    WebhookIntake,
    StatusPublisher,
    BuildRunner,
    BuildCommands,
    TestSuite,
    Clock,
    WaitingNotice,
    StageTestsLease,
    ChangeProjectSettings,
    RegisterProject,
    ProjectPolicies,
    PromotionRecords,
    RangeContributors,
    ApprovalEligibility,
    ...PROMOTION_USE_CASES,
    ...GATES,
    { provide: PROMOTION_GATES, useFactory: (...gates: unknown[]) => gates, inject: GATES },
    ...STEPS,
    { provide: AFTER_STAGE_WRITE, useFactory: (...steps: unknown[]) => steps, inject: STEPS },
  ],
  exports: [
    ChangeProjectSettings,
    RegisterProject,
    AccessTokens,
    Clock,
    ProjectPolicies,
    PromotionRecords,
    ApprovalEligibility,
    ...PROMOTION_USE_CASES,
    WebhookIntake,
    StatusPublisher,
    BuildRunner,
    BuildCommands,
    GitSource,
    GitHubAppDeliveries,
  ],
})
export class PipelineModule {}
