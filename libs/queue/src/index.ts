export * from './catalogue';
export * from './connection';
export * from './job-queue';
export * from './queue.module';
export * from './processor';
