import { Module } from '@nestjs/common';
import { DeployWatchdog, EnvironmentsModule } from '@dockyard/environments';
import { EventsModule } from '@dockyard/events';
import { DriftWatch, OperationsModule } from '@dockyard/operations';
import { FailedDeliveries, MissedPushes, PipelineModule, Reconciler } from '@dockyard/pipeline';
import { CatalogueProcessor, assertEveryJobHandled } from '@dockyard/queue';
import { BuildsProcessor } from './builds.processor';
import { HooksProcessor } from './hooks.processor';
import { PromotionsProcessor } from './promotions.processor';
import { StatusesProcessor } from './statuses.processor';

const processors = [BuildsProcessor, StatusesProcessor, PromotionsProcessor, HooksProcessor];

/** The queue side: thin processors that hand each job to its use case, and the reconciler. */
@Module({
  imports: [PipelineModule, EventsModule, OperationsModule, EnvironmentsModule],
  providers: [
    ...processors,
    Reconciler,
    DriftWatch,
    DeployWatchdog,
    MissedPushes,
    FailedDeliveries,
    {
      // Resolved before any worker starts: a catalogued job without a handler stops the boot.
      provide: 'JOB_HANDLER_CHECK',
      inject: processors,
      useFactory: (...instances: CatalogueProcessor[]) => assertEveryJobHandled(instances),
    },
  ],
})
export class WorkerModule {}
