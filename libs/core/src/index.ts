export * from './core.module';
export * from './shutdown-watchdog';
