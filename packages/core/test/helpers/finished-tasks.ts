// Queues of finished tasks for the retention tests (retention.test.ts, outputs-retention.test.ts):
// the two artifact stores they run on, a queue whose tasks were created 10 hours ago and are run
// and ended at a given time through the protocol, and a retention policy from its settings.
import { expect } from 'vitest';
import {
  completeTask,
  enqueue,
  LocalArtifactStore,
  parseRetention,
  parseTenantRetention,
  S3ArtifactStore,
  takeTask,
  type ArtifactStore,
  type Claim,
  type RetentionPolicy,
} from '@gpufleet/core';
import type { RedisServer, S3Server } from '@gpufleet/testkit';
import { noopQueue } from './noop-queue.js';

export const HOUR = 3_600_000;

/** The local folder store (in `dir()`) and the S3-protocol test server's, by name. */
export function retentionStores(
  dir: () => Promise<string>,
  s3: () => S3Server,
): Record<string, () => Promise<ArtifactStore>> {
  return {
    local: async () => new LocalArtifactStore(await dir()),
    s3: async () => {
      const { endpoint, region, credentials, bucket } = s3();
      return new S3ArtifactStore({
        bucket,
        prefix: `retention-${Math.random().toString(36).slice(2)}`,
        endpoint,
        region,
        credentials,
        forcePathStyle: true,
        maxAttempts: 1,
      });
    },
  };
}

export async function fleetQueue(server: RedisServer) {
  const queue = await noopQueue(server);
  const { client, keys, prefix } = queue;
  // Submitted 10 hours ago: the sweep looks only at tasks created before its shortest retention.
  const createdAt = Date.now() - 10 * HOUR;
  const submit = async (tenant = 'default'): Promise<string> =>
    (await enqueue({ redis: client, prefix, now: () => createdAt }, { executer: 'noop' }, { tenant })).id;
  const take = async (): Promise<Claim> => {
    const result = await takeTask(client, keys, {
      consumer: 'a',
      sizes: [{ gpus: 0, fitsNow: true }],
      leaseMs: 60_000,
      token: `t-${Math.random()}`,
      now: Date.now(),
      idle: false,
    });
    if (result.kind !== 'claimed') throw new Error(`nothing claimed: ${result.kind}`);
    return result.claim;
  };
  /** Runs the next task in line and ends it `status` at `endedAt`. */
  const finish = async (status: 'succeeded' | 'failed', endedAt: number): Promise<string> => {
    const claim = await take();
    await client.xadd(keys.log(claim.taskId), '*', 's', 'stdout', 'd', 'a line');
    expect(await completeTask(client, keys, claim, status, endedAt, '')).toBe(true);
    return claim.taskId;
  };
  return { ...queue, submit, take, finish };
}

export function policy(byStatus: string, tenants?: string): RetentionPolicy {
  const parsed = tenants ? parseTenantRetention(tenants) : { tenants: {}, tenantMax: {} };
  if (typeof parsed === 'string') throw new Error(parsed);
  return { byStatus: parseRetention(byStatus) as RetentionPolicy['byStatus'], ...parsed };
}
