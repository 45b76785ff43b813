// Where the client connects: config files and their profiles, GPUFLEET_PROFILE and --profile,
// the overriding URL and token, the local fleet's file found from the working folder upwards,
// and every bad setting of a config file reported at once.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDirs } from '@gpufleet/testkit';
import { ConfigFileError, NoApiConfiguredError } from '@gpufleet/api-client';
import { resolveConnection } from '@gpufleet/api-client/node';

const temp = useTempDirs();

async function setup(files: Record<string, unknown>): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = await temp.make();
  for (const [path, value] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), typeof value === 'string' ? value : JSON.stringify(value));
  }
  return { dir, env: { HOME: join(dir, 'home') } };
}

const config = {
  defaultProfile: 'lab',
  profiles: {
    lab: {
      apiUrl: 'https://lab.example:8080',
      tokenFile: 'lab-token',
      queue: 'a100',
      gpus: 2,
      timeLimit: '2h',
      retries: 1,
    },
    cheap: { apiUrl: 'http://cheap.example', token: 'cheap-token' },
  },
};

describe('resolveConnection', () => {
  it('uses ./gpufleet.json: its default profile, its token file, its task defaults', async () => {
    const { dir, env } = await setup({ 'gpufleet.json': config, 'lab-token': 'lab-secret\n' });
    const c = await resolveConnection({ cwd: dir, env });
    expect(c).toEqual({
      apiUrl: 'https://lab.example:8080',
      token: 'lab-secret',
      profile: 'lab',
      profileFile: join(dir, 'gpufleet.json'),
      defaults: { queue: 'a100', gpus: 2, timeLimitMs: 7_200_000, retries: 1 },
    });
  });

  it('chooses by --profile over GPUFLEET_PROFILE over the default; flags and env override', async () => {
    const { dir, env } = await setup({ 'gpufleet.json': config, 'lab-token': 'lab-secret' });
    expect((await resolveConnection({ cwd: dir, env: { ...env, GPUFLEET_PROFILE: 'cheap' } })).token).toBe(
      'cheap-token',
    );
    expect(
      (await resolveConnection({ cwd: dir, env: { ...env, GPUFLEET_PROFILE: 'cheap' }, profile: 'lab' }))
        .profile,
    ).toBe('lab');
    const over = await resolveConnection({
      cwd: dir,
      env: { ...env, GPUFLEET_API_URL: 'http://env.example', GPUFLEET_TOKEN: 'env-token' },
      profile: 'cheap',
    });
    expect(over).toMatchObject({ apiUrl: 'http://env.example', token: 'env-token', profile: 'cheap' });
    const flags = await resolveConnection({
      cwd: dir,
      env: { ...env, GPUFLEET_API_URL: 'http://env.example' },
      apiUrl: 'http://flag.example',
    });
    expect(flags.apiUrl).toBe('http://flag.example');
    await expect(resolveConnection({ cwd: dir, env, profile: 'nope' })).rejects.toThrow(
      /no profile "nope": known profiles: lab, cheap/,
    );
  });

  it('reads the user’s config folder when there is no ./gpufleet.json', async () => {
    const { dir, env } = await setup({
      'xdg/gpufleet/config.json': { profiles: { default: { apiUrl: 'http://user.example' } } },
    });
    const c = await resolveConnection({ cwd: dir, env: { ...env, XDG_CONFIG_HOME: join(dir, 'xdg') } });
    expect(c).toMatchObject({ apiUrl: 'http://user.example', profile: 'default', token: null });
  });

  it('finds a local fleet from a subfolder, and never sends its token to another URL', async () => {
    const { dir, env } = await setup({
      '.gpufleet/local-api.json': {
        apiUrl: 'http://127.0.0.1:43210',
        tokenFile: 'local-token',
        docsUrl: 'x',
        pid: 1,
        gpus: 0,
      },
      '.gpufleet/local-token': 'local-secret\n',
      'project/src/.keep': '',
    });
    const cwd = join(dir, 'project', 'src');
    expect(await resolveConnection({ cwd, env })).toMatchObject({
      apiUrl: 'http://127.0.0.1:43210',
      token: 'local-secret',
      profile: 'local',
      defaults: { gpus: 0 },
    });
    const elsewhere = await resolveConnection({
      cwd,
      env: { ...env, GPUFLEET_API_URL: 'http://remote.example' },
    });
    expect(elsewhere).toMatchObject({ apiUrl: 'http://remote.example', token: null, profile: null });
    expect(
      (
        await resolveConnection({
          cwd: await temp.make(),
          env: { ...env, GPUFLEET_LOCAL_DIR: join(dir, '.gpufleet') },
        })
      ).token,
    ).toBe('local-secret');
  });

  it('says how to get an API when none is configured', async () => {
    const { dir, env } = await setup({});
    const error = await resolveConnection({ cwd: dir, env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoApiConfiguredError);
    expect((error as Error).message).toMatch(/npm start/);
    await expect(resolveConnection({ cwd: dir, env, profile: 'local' })).rejects.toThrow(
      /no local fleet is running here/,
    );
  });

  it('reports every bad setting of a config file at once', async () => {
    const { dir, env } = await setup({
      'gpufleet.json': {
        defaultProfile: 'missing',
        colour: 'blue',
        profiles: { lab: { apiUrl: 'ftp://x', gpus: -1, timeLimit: 'soon', queue: 'a b', tokn: 'x' } },
      },
    });
    const error = await resolveConnection({ cwd: dir, env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigFileError);
    expect((error as ConfigFileError).issues.map((i) => i.field).sort()).toEqual([
      'colour',
      'defaultProfile',
      'profiles.lab.apiUrl',
      'profiles.lab.gpus',
      'profiles.lab.queue',
      'profiles.lab.timeLimit',
      'profiles.lab.tokn',
    ]);
  });
});
