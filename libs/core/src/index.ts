export * from './core.module';
export * from './shutdown-watchdog';
export * from './sweeper';
