export * from './db.module';
export * from './prisma.service';
export * from './generated/client';
export * from './repositories';
export * from './event-listener';
