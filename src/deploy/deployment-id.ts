import { randomUUID } from 'node:crypto';

/** A new deployment's id: `dep-<time in base 36>-<4 random hex digits>` (sorts by start time). */
export const newDeploymentId = (): string => `dep-${Date.now().toString(36)}-${randomUUID().slice(0, 4)}`;
