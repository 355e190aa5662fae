export * from './docker-engine';
export * from './buildkit-cli';
