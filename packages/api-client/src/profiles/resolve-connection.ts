/**
 * Where the client connects, and with which defaults. The profiles come from the first config
 * file found: `GPUFLEET_CONFIG`, else `./gpufleet.json`, else `gpufleet/config.json` in the user's
 * config folder (`$XDG_CONFIG_HOME`, `~/.config`, `%APPDATA%`). A running local fleet (`npm start`
 * writes `.gpufleet/local-api.json`, found from the working folder upwards, or in
 * `GPUFLEET_LOCAL_DIR`) is the profile `local`. The profile used is `--profile`, else
 * `GPUFLEET_PROFILE`, else the file's `defaultProfile`, else `default`, else `local`.
 * A profile with `host: "local"` connects to that local fleet too (its URL, and its token unless the
 * profile has one), with the profile's own task defaults (queue, GPUs, env line, SLURM resources).
 * `--api-url`/`GPUFLEET_API_URL` and `--token`/`GPUFLEET_TOKEN` override the profile's; with an
 * overriding URL and no profile named, no profile is used at all, so a local token never
 * travels to another API.
 */
import { access, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigFileError, NoApiConfiguredError } from '../errors.js';
import { LOCAL_API_FILE } from './local-api-file.js';
import { readLocalProfile, readProfileFile, type Profile, type ProfileFile } from './profile-file.js';
import type { SlurmResources } from './slurm-profile.js';

export const LOCAL_PROFILE = 'local';

export interface ResolveOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Flags: they win over the environment and the profile. */
  profile?: string;
  apiUrl?: string;
  token?: string;
}

/** Task defaults from the profile. */
export interface SubmitDefaults {
  queue?: string;
  gpus?: number;
  timeLimitMs?: number;
  retries?: number;
  gpuModels?: string[];
  /** The line run before the executer (the profile's `env`). */
  envSetup?: string;
  slurm?: SlurmResources;
}

export interface Connection {
  apiUrl: string;
  token: string | null;
  /** The profile used, or null. */
  profile: string | null;
  /** The file the profile came from, or null. */
  profileFile: string | null;
  defaults: SubmitDefaults;
}

const exists = async (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

export function userConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME ||
    (process.platform === 'win32' && env.APPDATA ? env.APPDATA : join(env.HOME || homedir(), '.config'));
  return join(base, 'gpufleet', 'config.json');
}

async function findConfigFile(cwd: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  if (env.GPUFLEET_CONFIG) return resolve(cwd, env.GPUFLEET_CONFIG);
  for (const candidate of [join(cwd, 'gpufleet.json'), userConfigFile(env)]) {
    if (await exists(candidate)) return candidate;
  }
  return null;
}

/** `.gpufleet/local-api.json` from `cwd` upwards (or in GPUFLEET_LOCAL_DIR), or null. */
export async function findLocalApiFile(
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | null> {
  if (env.GPUFLEET_LOCAL_DIR) {
    const file = join(resolve(cwd, env.GPUFLEET_LOCAL_DIR), LOCAL_API_FILE);
    return (await exists(file)) ? file : null;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, '.gpufleet', LOCAL_API_FILE);
    if (await exists(file)) return file;
    if (dirname(dir) === dir) return null;
  }
}

const NO_LOCAL_FLEET = 'no local fleet is running here (start one with npm start in the gpufleet repository)';

/** The local fleet's profile (its local-api.json) and that file, or null when none runs here. */
async function readLocalFleet(
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ profile: Profile; source: string } | null> {
  const file = await findLocalApiFile(cwd, env);
  return file ? { profile: await readLocalProfile(file), source: file } : null;
}

async function readToken(profile: Profile, source: string): Promise<string | null> {
  if (profile.token) return profile.token;
  if (!profile.tokenFile) return null;
  try {
    return (await readFile(profile.tokenFile, 'utf8')).trim() || null;
  } catch (error) {
    throw new ConfigFileError(source, [
      { field: 'tokenFile', reason: `cannot read ${profile.tokenFile}: ${(error as Error).message}` },
    ]);
  }
}

const NO_API = [
  'no gpufleet API is configured. Any one of these gives you one:',
  '  a local fleet:    npm start   (in the gpufleet repository; the CLI then finds it by itself)',
  '  the environment:  GPUFLEET_API_URL=http://host:8080 GPUFLEET_TOKEN=<key>',
  '  a profile:        gpufleet.json or ~/.config/gpufleet/config.json (see the README), then --profile NAME',
].join('\n');

export async function resolveConnection(options: ResolveOptions = {}): Promise<Connection> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const urlOverride = options.apiUrl ?? (env.GPUFLEET_API_URL || undefined);
  const tokenOverride = options.token ?? (env.GPUFLEET_TOKEN || undefined);
  const configPath = await findConfigFile(cwd, env);
  const file: ProfileFile | null = configPath ? await readProfileFile(configPath) : null;
  const profiles: Record<string, { profile: Profile; source: string }> = {};
  for (const [name, profile] of Object.entries(file?.profiles ?? {})) {
    profiles[name] = { profile, source: file?.path ?? '' };
  }
  const asked = options.profile ?? (env.GPUFLEET_PROFILE || undefined) ?? file?.defaultProfile;
  if (!(LOCAL_PROFILE in profiles) && (asked === LOCAL_PROFILE || (asked === undefined && !urlOverride))) {
    const local = await readLocalFleet(cwd, env);
    if (local) profiles[LOCAL_PROFILE] = local;
  }
  let name: string | undefined = asked;
  if (name === undefined && !urlOverride) {
    name = 'default' in profiles ? 'default' : LOCAL_PROFILE in profiles ? LOCAL_PROFILE : undefined;
  }
  const chosen = name === undefined ? undefined : profiles[name];
  if (name !== undefined && !chosen) {
    const known = Object.keys(profiles);
    const hint =
      name === LOCAL_PROFILE
        ? NO_LOCAL_FLEET
        : `known profiles: ${known.length > 0 ? known.join(', ') : 'none'}${configPath ? ` (in ${configPath})` : ' (no config file found)'}`;
    throw new NoApiConfiguredError(`there is no profile "${name}": ${hint}`);
  }
  const profile = chosen?.profile ?? {};
  // `host: "local"`: the local fleet's URL, and its token unless the profile has its own.
  const local = profile.host === 'local' && !urlOverride ? await localFleetOf(name ?? '', cwd, env) : null;
  const apiUrl = urlOverride ?? profile.apiUrl ?? local?.profile.apiUrl;
  if (!apiUrl)
    throw new NoApiConfiguredError(chosen ? `profile "${name}" has no apiUrl.\n${NO_API}` : NO_API);
  let token = tokenOverride ?? (chosen ? await readToken(profile, chosen.source) : null);
  if (token === null && local) token = await readToken(local.profile, local.source);
  const { queue, gpus, timeLimitMs, retries, gpuModels, envSetup, slurm } = profile;
  return {
    apiUrl,
    token,
    profile: chosen ? (name ?? null) : null,
    profileFile: chosen?.source ?? null,
    defaults: { queue, gpus, timeLimitMs, retries, gpuModels, envSetup, slurm },
  };
}

async function localFleetOf(
  name: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ profile: Profile; source: string }> {
  const local = await readLocalFleet(cwd, env);
  if (!local) throw new NoApiConfiguredError(`profile "${name}" has host "local", but ${NO_LOCAL_FLEET}`);
  return local;
}
