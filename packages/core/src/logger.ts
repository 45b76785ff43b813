/**
 * The root pino logger: NDJSON on stdout, pretty lines only for a person at a terminal.
 * Create one per process in its entrypoint; pass it (or children of it) down.
 */
import { createRequire } from 'node:module';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** The levels `LOG_LEVEL` may name (pino's, with `silent`). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number] & LevelWithSilent;

export interface LoggerOptions {
  level?: LogLevel;
  name?: string;
  /** Pretty output; default: when stdout is a terminal. */
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const base = { level: options.level ?? 'info', name: options.name };
  if (pretty) {
    try {
      const require = createRequire(import.meta.url);
      const target = require.resolve('pino-pretty');
      return pino({
        ...base,
        transport: { target, options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
      });
    } catch {
      // pino-pretty is optional at run time; fall back to NDJSON.
    }
  }
  return pino(base);
}

/** A logger that discards everything (tests, libraries used without one). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
