-- Idempotent (IF NOT EXISTS): an earlier draft of it ran on shared development databases.
-- AlterTable
ALTER TABLE "Build" ADD COLUMN IF NOT EXISTS "attempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN IF NOT EXISTS "leaseToken" TEXT,
ADD COLUMN IF NOT EXISTS "leaseUntil" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Promotion" ADD COLUMN IF NOT EXISTS "attempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN IF NOT EXISTS "leaseToken" TEXT,
ADD COLUMN IF NOT EXISTS "leaseUntil" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX IF NOT EXISTS "Build_status_leaseUntil_idx" ON "Build"("status", "leaseUntil");
