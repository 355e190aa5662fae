import { defineConfig } from 'prisma/config';

// Only the CLI reads this; the apps take DATABASE_URL from the validated config.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/dockyard' },
});
