export * from './build.repository';
export * from './delivery.repository';
export * from './errors';
export * from './project.repository';
export * from './release.repository';
export * from './access.repository';
export * from './audit.repository';
export * from './promotion.repository';
