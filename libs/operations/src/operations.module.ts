import { Global, Module } from '@nestjs/common';
import { DEPLOY_WATCHER, EnvironmentsModule } from '@dockyard/environments';
import { EventsModule } from '@dockyard/events';
import { GitHubDeployments } from '@dockyard/github';
import { PipelineModule } from '@dockyard/pipeline';
import { SecretsModule } from '@dockyard/secrets';
import { AddTarget } from './environments/add-target';
import { CommitsAhead } from './environments/commits-ahead';
import { ConfigureEnvironment } from './environments/configure-environment';
import { EnvironmentLookup } from './environments/environment-lookup';
import { RemoveVariable, SetVariable } from './environments/environment-variables';
import { EnvironmentsOverview } from './environments/environments-overview';
import { RemoveEnvironment } from './environments/remove-environment';
import { ReconvergeEnvironment } from './environments/reconverge-environment';
import { RemoveTarget } from './environments/remove-target';
import { ObserveHosts } from './drift/observe-hosts';
import { DeployAnnouncer } from './github/deploy-announcer';
import { DeploymentPublisher } from './github/deployment-publisher';

const useCases = [
  AddTarget,
  CommitsAhead,
  ConfigureEnvironment,
  DeploymentPublisher,
  EnvironmentLookup,
  EnvironmentsOverview,
  ObserveHosts,
  ReconvergeEnvironment,
  RemoveEnvironment,
  RemoveTarget,
  RemoveVariable,
  SetVariable,
];

/**
 * Running environments day to day: their settings, hosts, variables, and what they really run.
 * Global so that the deploy engine (libs/environments) finds its DEPLOY_WATCHER here.
 */
@Global()
@Module({
  // EnvironmentsModule by name: a process of the api alone (start:api) resolves ObserveHosts' TargetConnector.
  imports: [PipelineModule, SecretsModule, EventsModule, EnvironmentsModule],
  providers: [
    ...useCases,
    GitHubDeployments,
    DeployAnnouncer,
    { provide: DEPLOY_WATCHER, useExisting: DeployAnnouncer },
  ],
  exports: [...useCases, SecretsModule, DEPLOY_WATCHER],
})
export class OperationsModule {}
