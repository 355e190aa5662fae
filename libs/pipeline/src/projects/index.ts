export * from './require-project';
export * from './change-project-settings';
