import { ApprovalsGate } from './approvals.gate';
import { DeployGate } from './deploy.gate';
import { FreezeGate } from './freeze.gate';
import { SignOffGate } from './signoff.gate';
import { StageTestsGate } from './stage-tests.gate';

export * from './gate';
export { ApprovalsGate, DeployGate, FreezeGate, SignOffGate, StageTestsGate };

/**
 * The gates a promotion passes, in the order they are asked: a freeze first (nothing runs while
 * frozen), then the stage's tests, then the sign-off of manual testing, then approvals, and last the
 * deploy into the stage's environment (only what every other gate let through is deployed). A new
 * gate is a file here and a line in this list.
 */
export const GATES = [FreezeGate, StageTestsGate, SignOffGate, ApprovalsGate, DeployGate];
