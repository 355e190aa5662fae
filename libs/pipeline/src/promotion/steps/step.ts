import type { PromotionFull } from '@dockyard/db';
import type { ProjectRules, StageRules } from '../project-policy';

/** What a step after a stage write gets: the promotion as written and the rules it was written under. */
export interface StageWrittenContext {
  promotion: PromotionFull;
  stage: StageRules;
  rules: ProjectRules;
}

/**
 * Work that follows a stage write (the registry tag and the Release row, committed together): deploy
 * to the stage's environment, take the next stage if an admin made it automatic. Steps run in the
 * order listed in steps/index.ts; adding one is adding a file.
 */
export interface AfterStageWrite {
  readonly name: string;
  run(ctx: StageWrittenContext): Promise<void>;
}

export const AFTER_STAGE_WRITE = Symbol('AFTER_STAGE_WRITE');
