
-- AlterTable
ALTER TABLE "Promotion" ADD COLUMN     "buildId" TEXT,
ADD COLUMN     "gates" JSONB,
ADD COLUMN     "policyVersion" INTEGER,
ADD COLUMN     "pushedBy" TEXT;

-- CreateTable
CREATE TABLE "PolicyVersion" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "policy" JSONB NOT NULL,
    "createdBy" TEXT NOT NULL,
    "userId" TEXT,
    "comment" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PolicyVersion_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "PolicyVersion_projectId_version_key" ON "PolicyVersion"("projectId", "version");

-- AddForeignKey
ALTER TABLE "PolicyVersion" ADD CONSTRAINT "PolicyVersion_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Carry over per-stage overrides an admin recorded before policies were versioned: a project that
-- has any becomes policy version 2 (version 1 is the default), its stages in their recorded order,
-- each the default for its name with the override on top. Nothing recorded is lost.
INSERT INTO "PolicyVersion" ("id", "projectId", "version", "policy", "createdBy", "comment")
SELECT gen_random_uuid()::text, s."projectId", 2,
       jsonb_build_object('stages', jsonb_agg(
         (CASE s."name"
            WHEN 'dev' THEN '{"auto": true}'::jsonb
            WHEN 'prod' THEN '{"approvals": 1, "separationOfDuties": true}'::jsonb
            ELSE '{}'::jsonb
          END)
         || jsonb_strip_nulls(COALESCE(s."policy", '{}'::jsonb))
         || jsonb_build_object('name', s."name")
         ORDER BY s."position")),
       'migration',
       'per-stage overrides recorded before project policies were versioned'
FROM "Stage" s
WHERE s."position" >= 0
GROUP BY s."projectId"
HAVING bool_or(s."policy" IS NOT NULL);

-- AlterTable
ALTER TABLE "Stage" DROP COLUMN "policy";
