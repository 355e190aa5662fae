-- AlterEnum (IF NOT EXISTS: a development database may hold these from an earlier name of this migration)
ALTER TYPE "BuildTrigger" ADD VALUE IF NOT EXISTS 'pull_request';
ALTER TYPE "BuildTrigger" ADD VALUE IF NOT EXISTS 'missed_push';

-- AlterTable
ALTER TABLE "Build" ADD COLUMN IF NOT EXISTS "fromFork" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN IF NOT EXISTS "pullRequest" INTEGER;
