// A fresh queue (unique prefix) whose catalog lists a `noop` executer and whose 0-GPU stream has
// the trackers' group: what the protocol tests start from.
import type { Redis } from 'ioredis';
import { publishCatalog, queueKeys, TRACKER_GROUP, type QueueKeys } from '@gpufleet/core';
import { uniquePrefix, type RedisServer } from '@gpufleet/testkit';

export interface NoopQueue {
  client: Redis;
  prefix: string;
  keys: QueueKeys;
}

export async function noopQueue(server: RedisServer): Promise<NoopQueue> {
  const prefix = uniquePrefix();
  const client = server.client();
  const keys = queueKeys(prefix, 'default');
  await publishCatalog(client, keys, [
    {
      name: 'noop',
      version: '1',
      description: '',
      params: { type: 'object' },
      gpus: 0,
      timeLimitMs: 60_000,
      tracker: 't',
      updatedAt: 0,
    },
  ]);
  await client.xgroup('CREATE', keys.tasks(0), TRACKER_GROUP, '0', 'MKSTREAM');
  return { client, prefix, keys };
}
