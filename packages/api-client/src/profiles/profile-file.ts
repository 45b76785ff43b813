/**
 * The config file of named profiles (`gpufleet.json`, or `config.json` in the user's config
 * folder) and the local fleet's `local-api.json`, read and checked as a whole: every bad field is
 * reported at once, naming it.
 *
 *   { "defaultProfile": "lab",
 *     "profiles": { "lab": { "apiUrl": "https://gpu.lab:8080", "tokenFile": "~/.gpufleet-token",
 *                            "queue": "a100", "gpus": 1, "timeLimit": "2h", "retries": 1 },
 *                   "big": { "host": "local", "queue": "slurm", "env": "conda activate deep",
 *                            "slurm": { "time": "1-00:00", "gres": "gpu:a100:2", "mem": "64G" } },
 *                   "cheap": { "host": "https://gpu.lab:8080", "device": "cpu" } } }
 *
 * `host` is `local` (the local fleet of `npm start`) or a URL (as `apiUrl`); `device` `cpu` gives
 * tasks no GPUs; `env` is a shell line run before the executer (profiles/env-line.ts); `slurm`
 * holds SLURM resources (profiles/slurm-profile.ts). Settings that contradict each other (device
 * `cpu` and a gres, a gres and `gpus`, `slurm.time` and `timeLimit`) are refused.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { ConfigFileError, type FieldIssue } from '../errors.js';
import { parseDuration } from './duration.js';
import { envLineProblem } from './env-line.js';
import { checkSlurm, type GpuGres, type SlurmResources } from './slurm-profile.js';

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
  /** `host: "local"`: the local fleet's URL and token (its local-api.json); a URL host is `apiUrl`. */
  host?: 'local';
  /** `cpu`: tasks get no GPUs; `gpu`: the GPUs of `gpus` or the gres, else the executer's. */
  device?: 'gpu' | 'cpu';
  /** Default GPU models (a gres's type). */
  gpuModels?: string[];
  /** The shell line run before the executer (the profile's `env`). */
  envSetup?: string;
  /** SLURM resources for a SLURM-backend tracker (the profile's `slurm`, less time and gres). */
  slurm?: SlurmResources;
}

export interface ProfileFile {
  path: string;
  defaultProfile?: string;
  profiles: Record<string, Profile>;
}

const PROFILE_KEYS = [
  'apiUrl',
  'host',
  'token',
  'tokenFile',
  'queue',
  'device',
  'gpus',
  'timeLimit',
  'retries',
  'env',
  'slurm',
];
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
  checkResources(raw, at, issues, profile);
  return profile;
}

/** `host`, `device`, `env` and `slurm`, and how they agree with `apiUrl`, `gpus` and `timeLimit`. */
function checkResources(
  raw: Record<string, unknown>,
  at: (key: string) => string,
  issues: FieldIssue[],
  profile: Profile,
): void {
  const { host, device, env, slurm, timeLimit, apiUrl } = raw;
  const issue = (key: string, reason: string): void => void issues.push({ field: at(key), reason });
  if (host === 'local') {
    if (apiUrl !== undefined)
      issue('host', '"local" is the local fleet’s URL: give host or apiUrl, not both');
    else profile.host = 'local';
  } else if (host !== undefined) {
    if (typeof host !== 'string' || !/^https?:\/\/[^/]/.test(host))
      issue('host', 'must be "local" (the fleet of npm start) or an http:// or https:// URL');
    else if (apiUrl !== undefined && apiUrl !== host)
      issue('host', `is ${host}, but apiUrl is ${String(apiUrl)}: give one of them`);
    else profile.apiUrl = host;
  }
  if (env !== undefined) {
    const problem = envLineProblem(env);
    if (problem === null) profile.envSetup = env as string;
    else issue('env', problem);
  }
  let gres: GpuGres | undefined;
  if (slurm !== undefined) {
    const s = checkSlurm(slurm, at('slurm'), issues);
    gres = s.gres;
    if (s.timeLimitMs !== undefined && timeLimit !== undefined)
      issue('slurm.time', 'the time limit is given twice: keep slurm.time or timeLimit');
    else if (s.timeLimitMs !== undefined) profile.timeLimitMs = s.timeLimitMs;
    if (gres && profile.gpus !== undefined && profile.gpus !== gres.gpus)
      issue('slurm.gres', `asks for ${gres.gpus} GPU(s), but gpus is ${profile.gpus}: keep one of them`);
    else if (gres) profile.gpus = gres.gpus;
    if (gres?.type !== undefined) profile.gpuModels = [gres.type];
    if (Object.keys(s.resources).length > 0) profile.slurm = s.resources;
  }
  if (device === 'cpu') {
    if (gres) issue('device', `"cpu" runs tasks without GPUs, but slurm.gres asks for ${gres.gpus}`);
    else if (profile.gpus) issue('device', `"cpu" runs tasks without GPUs, but gpus is ${profile.gpus}`);
    profile.gpus = 0;
    delete profile.gpuModels;
  } else if (device === 'gpu') {
    if (profile.gpus === 0) issue('device', '"gpu" runs tasks on GPUs, but gpus is 0');
  } else if (device !== undefined) issue('device', 'must be "gpu" or "cpu"');
  if (device === 'gpu' || device === 'cpu') profile.device = device;
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
