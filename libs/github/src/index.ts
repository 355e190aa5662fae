export * from './github-statuses';
export * from './webhook-verifier';
export * from './github-deployments';
export * from './app-deliveries';
