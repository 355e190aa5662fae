export * from './change-policy';
export * from './decide-promotion';
export * from './enter-first-stage';
export * from './evaluate-promotion';
export * from './request-promotion';
export * from './roll-back-stage';
export * from './sign-off-stage';
