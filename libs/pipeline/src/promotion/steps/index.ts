import { AnnounceWrittenStep } from './announce-written.step';
import { AutoPromoteNextStep } from './auto-promote-next.step';

export * from './step';
export { AnnounceWrittenStep, AutoPromoteNextStep };

/** What follows a stage write, in order (a deploy step goes before the next stage's auto promotion). */
export const STEPS = [AnnounceWrittenStep, AutoPromoteNextStep];
