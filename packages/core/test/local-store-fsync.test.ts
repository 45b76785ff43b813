// ARTIFACT_FSYNC: the folder store flushes every write to disk (file and folder) by default, and
// does not when told so; a bad value is refused naming the variable.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { artifactStoreSettingsFrom, ConfigError, openArtifactStore } from '@gpufleet/core';
import { useTempDirs } from '@gpufleet/testkit';

const temp = useTempDirs();

async function countSyncs(fsync: string | undefined): Promise<number> {
  const dir = await temp.make();
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
  await probe.close();
  const spy = vi.spyOn(proto, 'sync');
  const store = openArtifactStore(
    artifactStoreSettingsFrom(join(dir, 'store'), dir, fsync === undefined ? {} : { ARTIFACT_FSYNC: fsync }),
  );
  await store.put('t/1/outputs/a.txt', Buffer.from('hello'));
  const calls = spy.mock.calls.length;
  spy.mockRestore();
  return calls;
}

afterEach(() => vi.restoreAllMocks());

describe('ARTIFACT_FSYNC', () => {
  it('flushes the file and its folder by default, and nothing when false', async () => {
    expect(await countSyncs(undefined)).toBe(2);
    expect(await countSyncs('true')).toBe(2);
    expect(await countSyncs('false')).toBe(0);
  });

  it('refuses a value that is neither true nor false, naming the variable', () => {
    expect(() => artifactStoreSettingsFrom('/tmp/x', '/', { ARTIFACT_FSYNC: 'sometimes' })).toThrow(
      ConfigError,
    );
    expect(() => artifactStoreSettingsFrom('/tmp/x', '/', { ARTIFACT_FSYNC: 'sometimes' })).toThrow(
      /ARTIFACT_FSYNC: must be true or false/,
    );
  });
});
