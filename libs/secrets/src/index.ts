export * from './secret-cipher';
export * from './secrets-store';
export * from './secrets.module';
