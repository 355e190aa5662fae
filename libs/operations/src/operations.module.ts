import { Module } from '@nestjs/common';
import { GitHubDeployments } from '@dockyard/github';
import { PipelineModule } from '@dockyard/pipeline';
import { SecretsModule } from '@dockyard/secrets';
import { AddTarget } from './environments/add-target';
import { ConfigureEnvironment } from './environments/configure-environment';
import { EnvironmentLookup } from './environments/environment-lookup';
import { RemoveVariable, SetVariable } from './environments/environment-variables';
import { EnvironmentsOverview } from './environments/environments-overview';
import { RemoveEnvironment } from './environments/remove-environment';
import { RemoveTarget } from './environments/remove-target';
import { DeploymentPublisher } from './github/deployment-publisher';

const useCases = [
  AddTarget,
  ConfigureEnvironment,
  DeploymentPublisher,
  EnvironmentLookup,
  EnvironmentsOverview,
  RemoveEnvironment,
  RemoveTarget,
  RemoveVariable,
  SetVariable,
];

/** Running environments day to day: their settings, hosts, variables, and what they really run. */
@Module({
  imports: [PipelineModule, SecretsModule],
  providers: [...useCases, GitHubDeployments],
  exports: [...useCases, SecretsModule],
})
export class OperationsModule {}
