export * from './environment-values';
export * from './secret-cipher';
export * from './secrets-store';
export * from './secrets.module';
export * from './target-keys';
