export * from './git-source';
