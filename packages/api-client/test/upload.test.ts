// Uploads against a stand-in server that counts what it receives: the multipart body is read
// from disk only as fast as the server takes it (streamed, never held whole), a retried submit
// sends the whole body again with the same Idempotency-Key, and the parts are what the API reads.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTempDirs } from '@gpufleet/testkit';
import { GpufleetClient, InputError } from '@gpufleet/api-client';
import { writeFiles } from './helpers/cli-fleet.js';

const temp = useTempDirs();
let server: Server;
let url: string;
let handler: (
  req: IncomingMessage,
  received: (n: number) => void,
) => Promise<{ status: number; body: unknown }>;
let received = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    void handler(req, (n) => (received += n)).then(({ status, body }) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const created = {
  id: '01jd3xk4m7n8p9q0r1s2t3v4w5',
  queue: 'default',
  status: 'queued',
  queuePosition: 0,
  replayed: false,
};

async function drain(req: IncomingMessage, count: (n: number) => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    count((chunk as Buffer).length);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

describe('submit with inputs', () => {
  it('reads the files only as fast as the server takes them', async () => {
    const dir = await temp.make();
    const size = 200 * 1024 * 1024;
    const big = join(dir, 'volume.raw');
    await writeFile(big, '');
    const handle = await open(big, 'r+');
    await handle.truncate(size); // sparse: no disk space, real bytes when read
    await handle.close();
    received = 0;
    handler = async (req, count) => {
      for await (const chunk of req) count((chunk as Buffer).length); // counted, not kept
      return { status: 201, body: created };
    };
    let aheadMax = 0;
    let sent = 0;
    const client = new GpufleetClient({ url, token: 't' });
    await client.submit(
      { executer: 'probe' },
      {
        inputs: [big],
        onUploadProgress: (p) => {
          sent = p.bytes;
          aheadMax = Math.max(aheadMax, sent - received);
        },
      },
    );
    expect(sent).toBe(size);
    expect(received).toBeGreaterThan(size);
    expect(aheadMax).toBeLessThan(16 * 1024 * 1024); // far below the file: it was never read whole
  });

  it('sends the spec first, then one part per file, and all of it again on a retry', async () => {
    const job = join(await temp.make(), 'job');
    await writeFiles(job, { 'run.sh': '#!/bin/sh\necho hi\n', 'data/a b.txt': 'spaces\n' });
    const bodies: Buffer[] = [];
    const keys: Array<string | undefined> = [];
    handler = async (req, count) => {
      bodies.push(await drain(req, count));
      keys.push(req.headers['idempotency-key'] as string | undefined);
      if (bodies.length === 1)
        return { status: 503, body: { error: { code: 'REDIS_UNAVAILABLE', message: 'down', details: {} } } };
      return { status: 201, body: created };
    };
    const client = new GpufleetClient({ url, token: 't' });
    const task = await client.submit({ executer: 'script', params: { script: 'run.sh' } }, { inputs: [job] });
    expect(task.id).toBe(created.id);
    expect(bodies).toHaveLength(2);
    expect(bodies[1]?.equals(bodies[0] as Buffer)).toBe(true);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    const text = bodies[1]?.toString() ?? '';
    const names = [...text.matchAll(/name="(\w+)"(?:; filename="([^"]+)")?/g)].map((m) => m[2] ?? m[1]);
    expect(names).toEqual(['spec', 'data/a b.txt', 'run.sh']);
    expect(text).toContain('{"executer":"script","params":{"script":"run.sh"}}');
    expect(text).toContain('\r\n\r\nspaces\n\r\n');
  });

  it('refuses inputs that would collide or do not exist, before sending anything', async () => {
    const a = await temp.make();
    const b = await temp.make();
    await writeFiles(a, { 'same.txt': '1' });
    await writeFiles(b, { 'same.txt': '2' });
    let calls = 0;
    handler = async (req, count) => {
      calls++;
      await drain(req, count);
      return { status: 201, body: created };
    };
    const client = new GpufleetClient({ url, token: 't' });
    await expect(client.submit({ executer: 'x' }, { inputs: [a, b] })).rejects.toThrow(InputError);
    await expect(client.submit({ executer: 'x' }, { inputs: [join(a, 'missing')] })).rejects.toThrow(
      /does not exist/,
    );
    expect(calls).toBe(0);
  });
});
