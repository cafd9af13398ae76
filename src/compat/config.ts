import { ConfigError } from '../core/errors';
import { MAX_TIMER_MS, parseDuration } from '../core/duration';
import { LOG_LEVELS, type LogLevel } from '../core/logger';
import { BUILT_IN_STRATEGIES, type BuiltInStrategyName } from '../strategies/types';

/** The three modes of the flag. */
export const MODES = ['memory', 'shadow', 'sqlite'] as const;
export type Mode = (typeof MODES)[number];

/** What sqlite mode does when the database cannot be opened. */
export const FALLBACKS = ['memory', 'refuse'] as const;
export type Fallback = (typeof FALLBACKS)[number];

/**
 * Every key the flag understands, spelled as the environment variable. The object given to
 * `createContainer(config)` uses the same keys; a key there wins over the environment.
 */
export const CONFIG_KEYS = [
  'TASKBRIDGE_MODE',
  'TASKBRIDGE_DB_PATH',
  'TASKBRIDGE_STRATEGY',
  'TASKBRIDGE_CONCURRENCY',
  'TASKBRIDGE_SQLITE_MODULES',
  'TASKBRIDGE_ROLLOUT_PERCENT',
  'TASKBRIDGE_FALLBACK',
  'TASKBRIDGE_LOG_LEVEL',
  'TASKBRIDGE_LEASE',
  'TASKBRIDGE_POLL_INTERVAL',
  'TASKBRIDGE_MIRROR_FLUSH_DELAY',
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** Raw input: the environment, or the object handed to `createContainer`. Values may be typed. */
export type ConfigInput = Partial<Record<ConfigKey, string | number | readonly string[] | undefined>>;

/** The validated, typed configuration. Frozen. */
export interface TaskbridgeConfig {
  readonly mode: Mode;
  /** SQLite file path, or `:memory:`. */
  readonly dbPath: string;
  readonly strategy: BuiltInStrategyName;
  /** Runs executing at once in sqlite mode (per process). */
  readonly concurrency: number;
  /** Canary by module: only these moduleIds go to the queue. Empty: every module. */
  readonly sqliteModules: readonly string[];
  /** Canary by share: runs whose runId hashes below this percent go to the queue. */
  readonly rolloutPercent: number;
  readonly fallback: Fallback;
  readonly logLevel: LogLevel;
  /** Lease of a claimed run in sqlite mode; a crashed process's runs are retaken after it. */
  readonly leaseMs: number;
  /** How often an idle sqlite-mode worker looks for ready runs. */
  readonly pollIntervalMs: number;
  /** Longest delay between a registry change and its mirror write in shadow mode. */
  readonly mirrorFlushDelayMs: number;
}

/** Defaults of every key, as documented in migration-guide.md. */
export const CONFIG_DEFAULTS: TaskbridgeConfig = Object.freeze({
  mode: 'memory',
  dbPath: './data/taskbridge.db',
  strategy: 'priority',
  concurrency: 10,
  sqliteModules: Object.freeze([]) as readonly string[],
  rolloutPercent: 100,
  fallback: 'refuse',
  logLevel: 'info',
  leaseMs: 30_000,
  pollIntervalMs: 200,
  mirrorFlushDelayMs: 50,
});

type Raw = string | number | readonly string[] | undefined;

function pick(env: NodeJS.ProcessEnv | ConfigInput, overrides: ConfigInput, key: ConfigKey): Raw {
  if (Object.prototype.hasOwnProperty.call(overrides, key) && overrides[key] !== undefined) return overrides[key];
  const fromEnv = (env as Record<string, Raw>)[key];
  return typeof fromEnv === 'string' ? envValue(env as NodeJS.ProcessEnv, key) : fromEnv;
}

/**
 * A flag variable as the library reads it: an empty (or blank) variable is treated as unset, the
 * way shells commonly clear a variable. The CLI reads the variables it shares with the library here.
 */
export function envValue(env: NodeJS.ProcessEnv, key: ConfigKey): string | undefined {
  const value = env[key];
  return value === undefined || value.trim() === '' ? undefined : value;
}

function oneOf<T extends string>(key: ConfigKey, raw: Raw, accepted: readonly T[], fallback: T): T {
  if (raw === undefined) return fallback;
  const text = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (typeof text === 'string' && (accepted as readonly string[]).includes(text)) return text as T;
  throw new ConfigError(key, raw, accepted.join(', '));
}

/**
 * TASKBRIDGE_LOG_LEVEL as the library reads it: one of {@link LOG_LEVELS} in any case, blanks
 * around it dropped; `fallback` when unset. The CLI reads the variable here too (with its own
 * fallback), so a level one accepts the other never refuses.
 * @param raw the value, already through {@link envValue} when it comes from the environment
 * @throws ConfigError naming TASKBRIDGE_LOG_LEVEL, the value and the levels
 */
export function logLevelOf(raw: Raw, fallback: LogLevel): LogLevel {
  return oneOf('TASKBRIDGE_LOG_LEVEL', raw, LOG_LEVELS, fallback);
}

function integer(key: ConfigKey, raw: Raw, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(key, raw, `an integer from ${min} to ${max}`);
  return n;
}

function duration(key: ConfigKey, raw: Raw, min: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const accepted = `a duration of at least ${min} ms and at most ${MAX_TIMER_MS} ms: milliseconds or a string such as '500ms', '30s', '5m'`;
  if (typeof raw !== 'string' && typeof raw !== 'number') throw new ConfigError(key, raw, accepted);
  let value: number;
  try {
    value = parseDuration(key, raw);
  } catch {
    throw new ConfigError(key, raw, accepted);
  }
  if (value < min || value > MAX_TIMER_MS) throw new ConfigError(key, raw, accepted);
  return value;
}

function moduleList(key: ConfigKey, raw: Raw): readonly string[] {
  if (raw === undefined) return Object.freeze([]);
  const accepted = 'a comma-separated list of moduleIds, e.g. "reports,exports"';
  const items = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? [...raw] : undefined;
  if (!items || items.some((m) => typeof m !== 'string')) throw new ConfigError(key, raw, accepted);
  const list = items.map((m) => m.trim()).filter((m) => m !== '');
  if (list.length === 0) throw new ConfigError(key, raw, accepted);
  return Object.freeze([...new Set(list)]);
}

/**
 * The database path `raw` (a `TASKBRIDGE_DB_PATH` value, or the config key) names, as the library
 * reads it; the CLI reads the variable through this too, so both always open the same file.
 * @throws ConfigError for a path the flag refuses (surrounding whitespace, a NUL byte, not a string)
 */
export function dbPathOf(raw: Raw): string {
  if (raw === undefined) return CONFIG_DEFAULTS.dbPath;
  // Refused, not trimmed: the CLI (taskbridge worker, parity, rollback) reads the variable as is, so a
  // trimmed path here would have the application and the CLI use two different files.
  if (typeof raw !== 'string' || raw.trim() === '' || raw !== raw.trim() || raw.includes('\0')) {
    throw new ConfigError('TASKBRIDGE_DB_PATH', raw, 'a file path without leading or trailing whitespace, or :memory:');
  }
  return raw;
}

/** Edit distance (insertions, deletions, substitutions) between two short names. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length];
}

/** The flag key a variable name is a near miss of (a typo, a plural, a `_MS` suffix, the wrong case), if any. */
function nearMiss(name: string): ConfigKey | undefined {
  const upper = name.toUpperCase();
  // Cheap filter first: this runs over the whole environment at every manager construction.
  if ((CONFIG_KEYS as readonly string[]).includes(name) || !/TASK|BRIDGE/.test(upper)) return undefined;
  // Windows reads environment names case-insensitively, so there a lower-case name is read, not missed.
  if (process.platform === 'win32' && (CONFIG_KEYS as readonly string[]).includes(upper)) return undefined;
  return CONFIG_KEYS.find((key) => editDistance(upper, key) <= 2 || (upper.startsWith(key) && upper.length - key.length <= 3));
}

/**
 * A misspelt variable is never read, so the flag silently keeps its default; for the canary keys the
 * default is "every run", which turns a canary into a full cutover. Names that are not near a flag key
 * are left alone: the CLI, the test harness and applications define their own TASKBRIDGE_* variables.
 */
function refuseMisspeltVariables(env: NodeJS.ProcessEnv | ConfigInput): void {
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === 'string' && value.trim() === '') continue;
    const meant = nearMiss(name);
    if (meant !== undefined) {
      throw new ConfigError(name, value, `no such variable: did you mean ${meant}? The flag reads ${CONFIG_KEYS.join(', ')}`);
    }
  }
}

/**
 * Builds the typed configuration from the environment and an optional override object.
 * Keys in `overrides` win over `env`. Unknown keys in `overrides` are refused (a typo would
 * otherwise silently leave the default in force). An environment variable whose name is a near miss
 * of a flag key (`TASKBRIDGE_SQLITE_MODULE`, `TASKBRIDGE_LEASE_MS`, `taskbridge_mode`) is refused for
 * the same reason; other `TASKBRIDGE_*` variables are left alone: the CLI and workers may define their own.
 * @throws ConfigError naming the variable, the value and the accepted values
 */
export function loadConfig(overrides: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): TaskbridgeConfig {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new ConfigError('config', overrides, `an object with the keys ${CONFIG_KEYS.join(', ')}`);
  }
  for (const key of Object.keys(overrides)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) throw new ConfigError(key, (overrides as Record<string, unknown>)[key], `a known key: ${CONFIG_KEYS.join(', ')}`);
  }
  refuseMisspeltVariables(env);
  const get = (key: ConfigKey): Raw => pick(env, overrides, key);
  const d = CONFIG_DEFAULTS;
  return Object.freeze({
    mode: oneOf('TASKBRIDGE_MODE', get('TASKBRIDGE_MODE'), MODES, d.mode),
    dbPath: dbPathOf(get('TASKBRIDGE_DB_PATH')),
    strategy: oneOf('TASKBRIDGE_STRATEGY', get('TASKBRIDGE_STRATEGY'), BUILT_IN_STRATEGIES, d.strategy),
    concurrency: integer('TASKBRIDGE_CONCURRENCY', get('TASKBRIDGE_CONCURRENCY'), 1, 10_000, d.concurrency),
    sqliteModules: moduleList('TASKBRIDGE_SQLITE_MODULES', get('TASKBRIDGE_SQLITE_MODULES')),
    rolloutPercent: integer('TASKBRIDGE_ROLLOUT_PERCENT', get('TASKBRIDGE_ROLLOUT_PERCENT'), 0, 100, d.rolloutPercent),
    fallback: oneOf('TASKBRIDGE_FALLBACK', get('TASKBRIDGE_FALLBACK'), FALLBACKS, d.fallback),
    logLevel: logLevelOf(get('TASKBRIDGE_LOG_LEVEL'), d.logLevel),
    leaseMs: duration('TASKBRIDGE_LEASE', get('TASKBRIDGE_LEASE'), 100, d.leaseMs),
    pollIntervalMs: duration('TASKBRIDGE_POLL_INTERVAL', get('TASKBRIDGE_POLL_INTERVAL'), 1, d.pollIntervalMs),
    mirrorFlushDelayMs: duration('TASKBRIDGE_MIRROR_FLUSH_DELAY', get('TASKBRIDGE_MIRROR_FLUSH_DELAY'), 0, d.mirrorFlushDelayMs),
  });
}

/** True when the configuration sends only part of the runs to the queue (a canary). */
export function isCanary(config: TaskbridgeConfig): boolean {
  return config.sqliteModules.length > 0 || config.rolloutPercent < 100;
}
