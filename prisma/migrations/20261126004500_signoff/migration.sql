-- CreateEnum
CREATE TYPE "SignOffResult" AS ENUM ('passes', 'fails');

-- CreateTable
CREATE TABLE "SignOff" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "digest" TEXT NOT NULL,
    "result" "SignOffResult" NOT NULL,
    "comment" TEXT,
    "userId" TEXT,
    "login" TEXT NOT NULL,
    "channel" "Channel" NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SignOff_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SignOff_projectId_stage_digest_createdAt_idx" ON "SignOff"("projectId", "stage", "digest", "createdAt");

-- AddForeignKey
ALTER TABLE "SignOff" ADD CONSTRAINT "SignOff_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SignOff" ADD CONSTRAINT "SignOff_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;
