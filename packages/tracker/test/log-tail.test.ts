// The tracker follows the kernel log like `tail -F` (src/gpu/log-tail.ts): what the file held when
// it started is skipped, each read returns the complete lines added since, a line still being
// written waits for its newline, and it survives the file being absent at first, replaced by
// logrotate (the old file read to its end first) and truncated in place.
import { appendFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { useTempDirs } from '@gpufleet/testkit';
import { LogTail } from '../src/gpu/log-tail.js';

const temp = useTempDirs();
const tails: LogTail[] = [];
afterEach(async () => {
  await Promise.all(tails.splice(0).map((t) => t.close()));
});

async function follow(path: string): Promise<LogTail> {
  const tail = new LogTail(path);
  tails.push(tail);
  await tail.start();
  return tail;
}

describe('LogTail', () => {
  it('skips what the file held, then returns complete lines as they come', async () => {
    const path = join(await temp.make(), 'kern.log');
    await writeFile(path, 'old line 1\nold line 2\n');
    const tail = await follow(path);
    expect(tail.found).toBe(true);
    expect(await tail.read()).toEqual([]);
    await appendFile(path, 'new 1\nnew 2\nhalf');
    expect(await tail.read()).toEqual(['new 1', 'new 2']);
    await appendFile(path, ' a line\n');
    expect(await tail.read()).toEqual(['half a line']);
  });

  it('waits for a file that is not there yet, and reads it from its start', async () => {
    const path = join(await temp.make(), 'kern.log');
    const tail = await follow(path);
    expect(tail.found).toBe(false);
    expect(await tail.read()).toEqual([]);
    await writeFile(path, 'first\n');
    expect(await tail.read()).toEqual(['first']);
  });

  it('reads a rotated file to its end, then the new one; and a truncated one from its start', async () => {
    const dir = await temp.make();
    const path = join(dir, 'kern.log');
    await writeFile(path, '');
    const tail = await follow(path);
    await appendFile(path, 'before rotation\n');
    await rename(path, join(dir, 'kern.log.1'));
    await appendFile(join(dir, 'kern.log.1'), 'late line of the old file\n');
    expect(await tail.read()).toEqual(['before rotation', 'late line of the old file']);
    await writeFile(path, 'in the new file\n');
    expect(await tail.read()).toEqual(['in the new file']);
    await truncate(path, 0);
    expect(await tail.read()).toEqual([]);
    await appendFile(path, 'after truncation\n');
    expect(await tail.read()).toEqual(['after truncation']);
    await rm(path);
    expect(await tail.read()).toEqual([]);
    await writeFile(path, 'back again\n');
    expect(await tail.read()).toEqual(['back again']);
  });
});
