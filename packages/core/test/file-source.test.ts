// The folder store's get() says which file its stream reads (for the API's download, which reads
// it itself): the open file and the range asked for; nothing once the stream was read or
// destroyed; destroying the stream closes the file. Streams that do not read a file say nothing.
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { useTempDirs } from '@gpufleet/testkit';
import { describe, expect, it } from 'vitest';
import { fileSourceOf } from '../src/artifacts/file-source.js';
import { LocalArtifactStore } from '../src/artifacts/local-store.js';

const temp = useTempDirs();
const bytes = Buffer.from('0123456789abcdef');

async function storeWithFile(): Promise<LocalArtifactStore> {
  const store = new LocalArtifactStore(await temp.make(), { fsync: false });
  await store.put('t/1/outputs/f.bin', bytes);
  return store;
}

describe('fileSourceOf', () => {
  it('gives the open file and the range of a stream from the folder store', async () => {
    const store = await storeWithFile();
    const whole = await store.get('t/1/outputs/f.bin');
    const source = fileSourceOf(whole);
    expect(source).toMatchObject({ start: 0, end: Infinity });
    const buffer = Buffer.alloc(bytes.length);
    await source?.handle.read(buffer, 0, bytes.length, 0);
    expect(buffer.equals(bytes)).toBe(true);
    whole.destroy();
    await once(whole, 'close');
    expect(source?.handle.fd).toBe(-1); // destroying the stream closed the file

    const part = await store.get('t/1/outputs/f.bin', { start: 3, end: 9 });
    expect(fileSourceOf(part)).toMatchObject({ start: 3, end: 9 });
    part.destroy();
  });

  it('gives nothing once the stream was read or destroyed, nor for other streams', async () => {
    const store = await storeWithFile();
    const read = await store.get('t/1/outputs/f.bin');
    const chunks: Buffer[] = [];
    for await (const chunk of read) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true); // still an ordinary stream
    expect(fileSourceOf(read)).toBeNull();
    const destroyed = await store.get('t/1/outputs/f.bin');
    destroyed.destroy();
    expect(fileSourceOf(destroyed)).toBeNull();
    expect(fileSourceOf(Readable.from([bytes]))).toBeNull();
  });
});
