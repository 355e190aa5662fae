-- AlterTable
ALTER TABLE "Build" DROP COLUMN "enqueuedAt";
