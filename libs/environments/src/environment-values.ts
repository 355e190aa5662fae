/** An environment's variables and secrets, opened for a deploy, and a keyed fingerprint of them (a label). */
export interface EnvironmentValues {
  resolve(environmentId: string): Promise<{ env: Record<string, string>; fingerprint: string }>;
}

export const ENVIRONMENT_VALUES = Symbol('ENVIRONMENT_VALUES');
