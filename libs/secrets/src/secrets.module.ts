import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { EnvironmentValueStore } from './environment-values';
import { SecretCipher } from './secret-cipher';
import { SecretsStore } from './secrets-store';
import { TargetKeyVault } from './target-keys';

/** Secrets, environment values and host keys under SECRETS_KEY; config and repositories come from CoreModule. */
@Module({
  providers: [
    {
      provide: SecretCipher,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new SecretCipher(config.secrets.key),
    },
    SecretsStore,
    TargetKeyVault,
    EnvironmentValueStore,
  ],
  exports: [SecretCipher, SecretsStore, TargetKeyVault, EnvironmentValueStore],
})
export class SecretsModule {}
