-- CreateEnum
CREATE TYPE "TargetKind" AS ENUM ('socket', 'tls', 'ssh');

-- CreateEnum
CREATE TYPE "DeployKind" AS ENUM ('deploy', 'rollback', 'reconverge');

-- CreateEnum
CREATE TYPE "DeployStatus" AS ENUM ('queued', 'running', 'verifying', 'succeeded', 'failed');

-- CreateEnum
CREATE TYPE "DeployStepStatus" AS ENUM ('pending', 'running', 'passed', 'failed', 'skipped');

-- CreateTable
CREATE TABLE "Environment" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "stageId" TEXT NOT NULL,
    "url" TEXT,
    "replicas" INTEGER NOT NULL DEFAULT 1,
    "parallel" BOOLEAN NOT NULL DEFAULT false,
    "soakMs" INTEGER NOT NULL DEFAULT 10000,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Environment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Target" (
    "id" TEXT NOT NULL,
    "environmentId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "position" INTEGER NOT NULL DEFAULT 0,
    "kind" "TargetKind" NOT NULL,
    "address" TEXT NOT NULL,
    "tlsCa" TEXT,
    "tlsCert" TEXT,
    "keyCipher" TEXT,
    "proxyPort" INTEGER NOT NULL,
    "proxyBind" TEXT NOT NULL DEFAULT '127.0.0.1',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Target_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Deploy" (
    "id" TEXT NOT NULL,
    "environmentId" TEXT NOT NULL,
    "promotionId" TEXT,
    "kind" "DeployKind" NOT NULL DEFAULT 'deploy',
    "repository" TEXT NOT NULL,
    "digest" TEXT NOT NULL,
    "previousDigest" TEXT,
    "status" "DeployStatus" NOT NULL DEFAULT 'queued',
    "reason" TEXT,
    "rolledBack" BOOLEAN NOT NULL DEFAULT false,
    "byLogin" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Deploy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeployStep" (
    "id" TEXT NOT NULL,
    "deployId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "targetId" TEXT,
    "name" TEXT NOT NULL,
    "status" "DeployStepStatus" NOT NULL DEFAULT 'pending',
    "detail" TEXT,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "DeployStep_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeployLog" (
    "id" BIGSERIAL NOT NULL,
    "deployId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "stream" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DeployLog_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Environment_stageId_key" ON "Environment"("stageId");

-- CreateIndex
CREATE INDEX "Environment_projectId_idx" ON "Environment"("projectId");

-- CreateIndex
CREATE UNIQUE INDEX "Target_environmentId_name_key" ON "Target"("environmentId", "name");

-- CreateIndex
CREATE INDEX "Deploy_environmentId_createdAt_idx" ON "Deploy"("environmentId", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "Deploy_status_idx" ON "Deploy"("status");

-- CreateIndex
CREATE UNIQUE INDEX "Deploy_promotionId_environmentId_key" ON "Deploy"("promotionId", "environmentId");

-- CreateIndex
CREATE INDEX "DeployStep_deployId_position_idx" ON "DeployStep"("deployId", "position");

-- CreateIndex
CREATE UNIQUE INDEX "DeployLog_deployId_seq_key" ON "DeployLog"("deployId", "seq");

-- AddForeignKey
ALTER TABLE "Environment" ADD CONSTRAINT "Environment_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Environment" ADD CONSTRAINT "Environment_stageId_fkey" FOREIGN KEY ("stageId") REFERENCES "Stage"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Target" ADD CONSTRAINT "Target_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Deploy" ADD CONSTRAINT "Deploy_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Deploy" ADD CONSTRAINT "Deploy_promotionId_fkey" FOREIGN KEY ("promotionId") REFERENCES "Promotion"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeployStep" ADD CONSTRAINT "DeployStep_deployId_fkey" FOREIGN KEY ("deployId") REFERENCES "Deploy"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeployStep" ADD CONSTRAINT "DeployStep_targetId_fkey" FOREIGN KEY ("targetId") REFERENCES "Target"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeployLog" ADD CONSTRAINT "DeployLog_deployId_fkey" FOREIGN KEY ("deployId") REFERENCES "Deploy"("id") ON DELETE CASCADE ON UPDATE CASCADE;
