import type { Image } from '@dockyard/db';
import type { PipelineConfig } from './pipeline-file';

/** What enters a stage that may have an environment to run in. */
export interface StageDeployInput {
  projectId: string;
  stageId: string;
  stage: string;
  image: Image;
  kind: 'deploy' | 'rollback';
  promotionId?: string | null;
  by: string;
  /** The image's pipeline (service block, the stage's verify suites); read from its build when absent. */
  pipeline?: Pick<PipelineConfig, 'service' | 'stages'> | null;
}

/** How a deploy into a stage's environment ended: `ok` false carries the reason (already rolled back). */
export interface StageDeployResult {
  ok: boolean;
  reason: string | null;
  deployId: string;
}

/**
 * The port through which promotions deploy (implemented by libs/environments): a stage with an
 * environment is written only after its deploy and verification passed.
 */
export interface StageDeployer {
  /** Does entering this stage deploy somewhere (and so belong in a worker)? */
  needed(projectId: string, stageId: string): Promise<boolean>;
  /** Deploy and verify; null when the stage has nowhere to run. */
  deploy(input: StageDeployInput): Promise<StageDeployResult | null>;
}

export const STAGE_DEPLOYER = Symbol('STAGE_DEPLOYER');
