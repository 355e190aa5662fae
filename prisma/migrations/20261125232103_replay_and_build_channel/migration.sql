-- AlterTable
ALTER TABLE "Build" ADD COLUMN     "channel" "Channel" NOT NULL DEFAULT 'webhook',
ADD COLUMN     "pushKey" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Build_pushKey_key" ON "Build"("pushKey");
