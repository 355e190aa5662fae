export * from './require-project';
export * from './change-project-settings';
export * from './register-project';
