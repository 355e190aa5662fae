export * from './registry-client';
export * from './test-image';
