export * from './git-source';
export * from './clone-url';
