import type { PromotionFull } from '@dockyard/db';
import type { StageRules } from '../project-policy';

/**
 * A gate's answer (Kargo's gate/decision model): let the promotion through, make it wait (with the
 * reason, and when to look again if that is known), or refuse it for good (with the reason).
 */
export type GateDecision =
  | { verdict: 'allow' }
  | {
      verdict: 'wait';
      reason: string;
      /** When the answer may change by itself (a freeze ends); unset: on an event (an approval). */
      until?: Date;
      /** The gate has work to do that belongs in a worker (tests in containers): run it there now. */
      work?: 'worker';
      /** What the promotion shows while that work runs: `testing` (the default) or `promoting` (a deploy). */
      doing?: 'testing' | 'promoting';
    }
  | {
      verdict: 'refuse';
      reason: string;
      /** The promotion was tried and did not work (a deploy failed): it ends `failed`, not `blocked`. */
      failed?: boolean;
    };

export const allow = (): GateDecision => ({ verdict: 'allow' });
export const wait = (
  reason: string,
  opts: { until?: Date; work?: 'worker'; doing?: 'testing' | 'promoting' } = {},
): GateDecision => ({
  verdict: 'wait',
  reason,
  ...opts,
});
export const refuse = (reason: string, opts: { failed?: boolean } = {}): GateDecision => ({
  verdict: 'refuse',
  reason,
  ...opts,
});

/** What a gate looks at: the promotion and the rules of the stage it would enter. */
export interface GateContext {
  promotion: PromotionFull;
  /** The target stage's rules in force: the project's policy (versioned in Dockyard) with the file's additions. */
  stage: StageRules;
  /** The project policy version these rules come from. */
  policyVersion: number;
  /** True inside the worker, where a gate may do long work (run tests); false on an HTTP request. */
  inWorker: boolean;
}

/**
 * One question about a promotion ("is the stage frozen?", "are there enough approvals?"), answered
 * with a decision. Gates read time only from the injected Clock, never from Date. Adding a gate is
 * adding a file that implements this and listing its class in gates/index.ts.
 */
export interface PromotionGate {
  /** Short, stable name recorded with its answer: "freeze", "tests", "signoff", "approvals", "deploy". */
  readonly name: string;
  check(ctx: GateContext): Promise<GateDecision>;
}

/** Nest token: the gates in the order the engine asks them (the first that does not allow stops it). */
export const PROMOTION_GATES = Symbol('PROMOTION_GATES');
