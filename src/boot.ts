import { existsSync } from 'node:fs';
import { AppConfig, ConfigError, loadConfig } from '@dockyard/config';

/**
 * The validated configuration, before anything else starts: a `.env` file in the working
 * directory is read first (variables already set win), then the environment is checked once.
 */
export function bootConfig(): AppConfig {
  if (existsSync('.env')) process.loadEnvFile('.env');
  try {
    return loadConfig(process.env);
  } catch (err) {
    return exitOnConfigError(err);
  }
}

/** A bad configuration stops start-up with one line that names it; anything else keeps its stack. */
export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`dockyard: ${err.message}\n`);
  } else {
    process.stderr.write(`dockyard: start-up failed: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
}
