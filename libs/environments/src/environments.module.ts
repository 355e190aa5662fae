import { Global, Module } from '@nestjs/common';
import { STAGE_DEPLOYER } from '@dockyard/pipeline';
import { EnvironmentValueStore, SecretsModule, TargetKeyVault } from '@dockyard/secrets';
import { DeployStage } from './deploy-stage';
import { DeployToEnvironment } from './deploy-to-environment';
import { ENVIRONMENT_VALUES } from './environment-values';
import { LocalEnvironments } from './local-environments';
import { TARGET_KEYS, TargetConnector } from './target-connector';

/**
 * Environments: where a stage's image runs, and the deploys that put it there. Global: promotions
 * deploy through its STAGE_DEPLOYER. Containers' values and host keys come from the secrets store.
 */
@Global()
@Module({
  imports: [SecretsModule],
  providers: [
    DeployToEnvironment,
    DeployStage,
    LocalEnvironments,
    TargetConnector,
    { provide: ENVIRONMENT_VALUES, useExisting: EnvironmentValueStore },
    { provide: TARGET_KEYS, useExisting: TargetKeyVault },
    { provide: STAGE_DEPLOYER, useExisting: DeployStage },
  ],
  exports: [DeployToEnvironment, DeployStage, LocalEnvironments, TargetConnector, STAGE_DEPLOYER],
})
export class EnvironmentsModule {}
