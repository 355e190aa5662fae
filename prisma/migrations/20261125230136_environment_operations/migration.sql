-- CreateEnum
CREATE TYPE "HostState" AS ENUM ('in_sync', 'drifted', 'down');

-- CreateTable
CREATE TABLE "EnvironmentVariable" (
    "id" TEXT NOT NULL,
    "environmentId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updatedBy" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "EnvironmentVariable_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "HostStatus" (
    "targetId" TEXT NOT NULL,
    "state" "HostState" NOT NULL,
    "runningDigest" TEXT,
    "healthy" BOOLEAN,
    "detail" TEXT,
    "checkedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "HostStatus_pkey" PRIMARY KEY ("targetId")
);

-- CreateTable
CREATE TABLE "GitHubDeployment" (
    "deployId" TEXT NOT NULL,
    "environmentId" TEXT NOT NULL,
    "githubId" BIGINT NOT NULL,
    "state" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "GitHubDeployment_pkey" PRIMARY KEY ("deployId")
);

-- CreateIndex
CREATE UNIQUE INDEX "EnvironmentVariable_environmentId_name_key" ON "EnvironmentVariable"("environmentId", "name");

-- CreateIndex
CREATE INDEX "GitHubDeployment_environmentId_state_idx" ON "GitHubDeployment"("environmentId", "state");

-- AddForeignKey
ALTER TABLE "EnvironmentVariable" ADD CONSTRAINT "EnvironmentVariable_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "HostStatus" ADD CONSTRAINT "HostStatus_targetId_fkey" FOREIGN KEY ("targetId") REFERENCES "Target"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "GitHubDeployment" ADD CONSTRAINT "GitHubDeployment_deployId_fkey" FOREIGN KEY ("deployId") REFERENCES "Deploy"("id") ON DELETE CASCADE ON UPDATE CASCADE;
