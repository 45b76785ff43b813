/**
 * A tracker played by the test through core's protocol functions (no processes): it registers,
 * publishes a catalog, takes tasks, writes live log entries and completes tasks with outputs.
 * For route tests that need tasks in given states; the end-to-end test runs the real tracker.
 */
import type { Redis } from 'ioredis';
import {
  attemptPrefix,
  completeTask,
  newToken,
  publishCatalog,
  setTaskStatus,
  takeTask,
  TRACKER_GROUP,
  type ArtifactStore,
  type CatalogEntry,
  type Claim,
  type OutputFile,
  type QueueKeys,
  type TaskStatus,
  type TrackerInfo,
} from '@gpufleet/core';
import { auth, KEYS, type TestApi } from './api.js';

export const PROBE: CatalogEntry = {
  name: 'probe',
  version: '1.0.0',
  description: 'test executer',
  params: {
    type: 'object',
    properties: {
      steps: { type: 'integer', minimum: 1, default: 10 },
      label: { type: 'string' },
    },
    additionalProperties: false,
  },
  gpus: 0,
  timeLimitMs: 60_000,
  tracker: 'fake',
  updatedAt: 0,
};

export class FakeTracker {
  constructor(
    private readonly redis: Redis,
    readonly keys: QueueKeys,
    private readonly store: ArtifactStore,
    readonly name = 'fake-tracker',
  ) {}

  /** Publishes the catalog and a live registration (heartbeat now). */
  async register(
    entries: CatalogEntry[] = [PROBE],
    running: Record<string, number[]> = {},
    extra: Partial<TrackerInfo> = {},
  ): Promise<void> {
    await publishCatalog(this.redis, this.keys, entries);
    const info: TrackerInfo = {
      name: this.name,
      instance: 'i1',
      host: 'test-host',
      pid: 1,
      pidStartTime: null,
      gpus: [0, 1],
      cpuSlots: 2,
      executers: entries.map((e) => e.name),
      running,
      startedAt: Date.now() - 1000,
      heartbeatAt: Date.now(),
      heartbeatMs: 60_000,
      ...extra,
    };
    await this.redis.hset(this.keys.trackers, this.name, JSON.stringify(info));
  }

  /** Takes the oldest waiting task of `gpus` GPUs. */
  async take(gpus = 0): Promise<Claim> {
    const stream = this.keys.tasks(gpus);
    await this.redis.xgroup('CREATE', stream, TRACKER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
    const result = await takeTask(this.redis, this.keys, {
      consumer: this.name,
      sizes: [{ gpus, fitsNow: true }],
      leaseMs: 60_000,
      token: newToken(),
      now: Date.now(),
      idle: true,
    });
    if (result.kind !== 'claimed') throw new Error(`nothing to take: ${result.kind}`);
    return result.claim;
  }

  async log(claim: Claim, stream: 'stdout' | 'stderr', data: string | Buffer): Promise<string> {
    return (await this.redis.xadd(this.keys.log(claim.taskId), '*', 's', stream, 'd', data)) as string;
  }

  async setStatus(claim: Claim, status: TaskStatus): Promise<void> {
    await setTaskStatus(this.redis, this.keys, claim, status, Date.now());
  }

  /** Stores the files as the attempt's outputs and completes the task. */
  async finish(
    claim: Claim,
    status: TaskStatus,
    files: Record<string, string | Buffer> = {},
    fields: Record<string, string | number> = {},
  ): Promise<void> {
    const tenant = (await this.redis.hget(this.keys.task(claim.taskId), 'tenant')) ?? 'default';
    const base = attemptPrefix(tenant, claim.taskId, claim.attempt);
    const outputs: OutputFile[] = [];
    for (const [path, body] of Object.entries(files)) {
      const put = await this.store.put(`${base}/outputs/${path}`, Buffer.from(body));
      outputs.push({ path, size: put.size, sha256: put.sha256 });
    }
    const manifest = { prefix: `${base}/outputs`, attempt: claim.attempt, files: outputs };
    const reason = status === 'succeeded' ? '' : `ended ${status}`;
    await completeTask(this.redis, this.keys, claim, status, Date.now(), reason, {
      exitCode: status === 'succeeded' ? 0 : 1,
      error: reason,
      outputs: Object.keys(files).length > 0 ? JSON.stringify(manifest) : undefined,
      ...fields,
    });
  }
}

/** Submits a `probe` task as alice and has a fake tracker finish it with `outputs`; returns its id. */
export async function finishedTask(api: TestApi, outputs: Record<string, string | Buffer>): Promise<string> {
  const tracker = new FakeTracker(api.redis, api.keys, api.store);
  await tracker.register();
  const created = await api.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: auth(KEYS.alice),
    payload: { executer: 'probe' },
  });
  const taskId = created.json<{ id: string }>().id;
  await tracker.finish(await tracker.take(), 'succeeded', outputs);
  return taskId;
}
