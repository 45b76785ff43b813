/**
 * Reads configuration variables with their defaults and checks, collecting every problem so
 * `done()` can report all bad variables at once (ConfigError). Nothing falls back silently: a
 * variable that is set but invalid is an error, never replaced by its default.
 */
import { ConfigError, type FieldIssue } from './errors.js';

export type Env = Record<string, string | undefined>;

export class EnvReader {
  readonly issues: FieldIssue[] = [];
  constructor(private readonly env: Env) {}

  /** The raw value, or undefined when unset or empty. */
  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  fail(name: string, reason: string): void {
    this.issues.push({ field: name, reason });
  }

  string(name: string, fallback: string, check?: (value: string) => string | null): string;
  string(name: string, fallback?: undefined, check?: (value: string) => string | null): string | undefined;
  string(name: string, fallback?: string, check?: (value: string) => string | null): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const reason = check?.(value);
    if (reason) this.fail(name, `${reason} (got ${JSON.stringify(value)})`);
    return value;
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n)) {
      this.fail(name, `must be an integer (got ${JSON.stringify(value)})`);
      return fallback;
    }
    if (range.min !== undefined && n < range.min) this.fail(name, `must be at least ${range.min} (got ${n})`);
    if (range.max !== undefined && n > range.max) this.fail(name, `must be at most ${range.max} (got ${n})`);
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    this.fail(name, `must be true or false (got ${JSON.stringify(value)})`);
    return fallback;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if ((values as readonly string[]).includes(value)) return value as T;
    this.fail(name, `must be one of ${values.join(', ')} (got ${JSON.stringify(value)})`);
    return fallback;
  }

  /** Throws ConfigError listing every issue found so far. */
  done(): void {
    if (this.issues.length > 0) throw new ConfigError(this.issues);
  }
}

/** `REDIS_URL`, else `REDIS_HOSTNAME` + `REDIS_PORT`, else the local default. */
export function readRedisUrl(reader: EnvReader): string {
  const url = reader.string('REDIS_URL', undefined, (v) =>
    /^rediss?:\/\//.test(v) ? null : 'must start with redis:// or rediss://',
  );
  if (url) return url;
  const host = reader.string('REDIS_HOSTNAME', '127.0.0.1');
  const port = reader.int('REDIS_PORT', 6379, { min: 1, max: 65535 });
  return `redis://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Parses `90s`, `10m`, `2h`, `1d`, `500ms` or a plain number of milliseconds. */
export function parseDurationMs(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'] ?? 1;
  return Math.round(Number(match[1]) * unit);
}
