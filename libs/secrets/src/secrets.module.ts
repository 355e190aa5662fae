import { Module } from '@nestjs/common';
import { SecretsStore } from './secrets-store';

/** The secrets store; config and the repositories come from CoreModule (global). */
@Module({ providers: [SecretsStore], exports: [SecretsStore] })
export class SecretsModule {}
