/**
 * The config file of named profiles (`gpufleet.json`, or `config.json` in the user's config
 * folder) and the local fleet's `local-api.json`, read and checked as a whole: every bad field is
 * reported at once, naming it.
 *
 *   { "defaultProfile": "lab",
 *     "profiles": { "lab": { "apiUrl": "https://gpu.lab:8080", "tokenFile": "~/.gpufleet-token",
 *                            "queue": "a100", "gpus": 1, "timeLimit": "2h", "retries": 1 } } }
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { ConfigFileError, type FieldIssue } from '../errors.js';
import { parseDuration } from './duration.js';

export interface Profile {
  apiUrl?: string;
  token?: string;
  /** A file holding the token (relative paths are relative to the config file; `~/` is home). */
  tokenFile?: string;
  /** Queue for submissions. */
  queue?: string;
  /** Default GPUs per task. */
  gpus?: number;
  /** Default time limit per task. */
  timeLimitMs?: number;
  /** Default reruns after a failed exit. */
  retries?: number;
}

export interface ProfileFile {
  path: string;
  defaultProfile?: string;
  profiles: Record<string, Profile>;
}

const PROFILE_KEYS = ['apiUrl', 'token', 'tokenFile', 'queue', 'gpus', 'timeLimit', 'retries'];
/** Fields of local-api.json that are not profile settings. */
const LOCAL_EXTRA_KEYS = ['docsUrl', 'pid', 'startedAt', 'tracker'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkProfile(
  raw: unknown,
  field: string,
  issues: FieldIssue[],
  file: string,
  extra: string[] = [],
): Profile {
  if (!isObject(raw)) {
    issues.push({ field, reason: 'must be an object' });
    return {};
  }
  const profile: Profile = {};
  const at = (key: string): string => `${field === '' ? '' : `${field}.`}${key}`;
  for (const key of Object.keys(raw)) {
    if (!PROFILE_KEYS.includes(key) && !extra.includes(key)) {
      issues.push({ field: at(key), reason: `unknown setting (known: ${PROFILE_KEYS.join(', ')})` });
    }
  }
  const { apiUrl, token, tokenFile, queue, gpus, timeLimit, retries } = raw;
  if (apiUrl !== undefined) {
    if (typeof apiUrl === 'string' && /^https?:\/\/[^/]/.test(apiUrl)) profile.apiUrl = apiUrl;
    else issues.push({ field: at('apiUrl'), reason: 'must be an http:// or https:// URL' });
  }
  if (token !== undefined) {
    if (typeof token === 'string' && token !== '') profile.token = token;
    else issues.push({ field: at('token'), reason: 'must be a non-empty string' });
  }
  if (tokenFile !== undefined) {
    if (typeof tokenFile === 'string' && tokenFile !== '') {
      const expanded = tokenFile.startsWith('~/') ? resolve(homedir(), tokenFile.slice(2)) : tokenFile;
      profile.tokenFile = resolve(dirname(file), expanded);
    } else issues.push({ field: at('tokenFile'), reason: 'must be a path' });
  }
  if (queue !== undefined) {
    if (typeof queue === 'string' && NAME.test(queue)) profile.queue = queue;
    else issues.push({ field: at('queue'), reason: 'must be a queue name (letters, digits, . _ -)' });
  }
  for (const [key, value] of [
    ['gpus', gpus],
    ['retries', retries],
  ] as const) {
    if (value === undefined) continue;
    if (Number.isInteger(value) && (value as number) >= 0) profile[key] = value as number;
    else issues.push({ field: at(key), reason: 'must be a whole number, 0 or more' });
  }
  if (timeLimit !== undefined) {
    const ms =
      typeof timeLimit === 'number'
        ? timeLimit
        : typeof timeLimit === 'string'
          ? parseDuration(timeLimit)
          : null;
    if (ms !== null && Number.isInteger(ms) && ms >= 1000) profile.timeLimitMs = ms;
    else
      issues.push({
        field: at('timeLimit'),
        reason: 'must be a duration of at least 1s (90s, 10m, 2h) or milliseconds',
      });
  }
  return profile;
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigFileError(path, [{ field: '(file)', reason: `not JSON: ${(error as Error).message}` }]);
  }
}

export async function readProfileFile(path: string): Promise<ProfileFile> {
  const raw = await readJson(path);
  const issues: FieldIssue[] = [];
  const file: ProfileFile = { path, profiles: {} };
  if (!isObject(raw)) throw new ConfigFileError(path, [{ field: '(file)', reason: 'must be a JSON object' }]);
  for (const key of Object.keys(raw)) {
    if (key !== 'defaultProfile' && key !== 'profiles') {
      issues.push({ field: key, reason: 'unknown setting (known: defaultProfile, profiles)' });
    }
  }
  if (raw.profiles !== undefined && !isObject(raw.profiles)) {
    issues.push({ field: 'profiles', reason: 'must be an object of named profiles' });
  } else {
    for (const [name, value] of Object.entries(raw.profiles ?? {})) {
      if (!NAME.test(name))
        issues.push({ field: `profiles.${name}`, reason: 'a profile name is letters, digits, . _ -' });
      file.profiles[name] = checkProfile(value, `profiles.${name}`, issues, path);
    }
  }
  if (raw.defaultProfile !== undefined) {
    if (typeof raw.defaultProfile !== 'string' || !(raw.defaultProfile in file.profiles)) {
      issues.push({ field: 'defaultProfile', reason: 'must name one of the profiles' });
    } else file.defaultProfile = raw.defaultProfile;
  }
  if (issues.length > 0) throw new ConfigFileError(path, issues);
  return file;
}

/** The local fleet's `local-api.json` (written by `npm start`) as a profile. */
export async function readLocalProfile(path: string): Promise<Profile> {
  const issues: FieldIssue[] = [];
  const profile = checkProfile(await readJson(path), '', issues, path, LOCAL_EXTRA_KEYS);
  if (issues.length > 0) throw new ConfigFileError(path, issues);
  return profile;
}
