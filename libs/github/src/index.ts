export * from './github-statuses';
export * from './webhook-verifier';
