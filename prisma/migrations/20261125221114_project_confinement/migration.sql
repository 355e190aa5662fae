-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "buildNetwork" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "testOptOuts" BOOLEAN NOT NULL DEFAULT true;
