import { existsSync } from 'node:fs';
import { AppConfig, ConfigError, loadConfig } from '@dockyard/config';

/**
 * The validated configuration, before anything else starts: `.env` and `.dockyard/services.env`
 * in the working directory are read first, then the environment is checked once.
 */
export function bootConfig(): AppConfig {
  // Variables already set win over .env, and .env over the addresses `npm run provision` wrote.
  for (const file of ['.env', '.dockyard/services.env']) if (existsSync(file)) process.loadEnvFile(file);
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
