import { ApprovalsGate } from './approvals.gate';
import { FreezeGate } from './freeze.gate';
import { StageTestsGate } from './stage-tests.gate';

export * from './gate';
export { ApprovalsGate, FreezeGate, StageTestsGate };

/**
 * The gates a promotion passes, in the order they are asked: a freeze first (nothing runs while
 * frozen), then the stage's tests, then approvals. A new gate is a file here and a line in this list.
 */
export const GATES = [FreezeGate, StageTestsGate, ApprovalsGate];
