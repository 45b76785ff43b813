/**
 * Every Redis key and stream name gpufleet uses, built in one place. All keys of one queue share
 * the hash tag `{queue}`, so a queue lives on one Redis Cluster shard and its Lua scripts may
 * touch any of them. The Lua scripts build no key: each gets its keys in KEYS (a key named in
 * Redis, such as a task's stream, is read by the caller first and checked by the script). Only
 * take and claim-read, which find a task id in a stream inside the script, get the key templates
 * (`keyTemplate`) of that task's hash and lease key to fill in (lua/lib-common.lua says more).
 */

/** The consumer group every tracker of a queue joins. */
export const TRACKER_GROUP = 'trackers';

/** The most GPUs one task may ask for; one task stream exists per GPU count up to this. */
export const MAX_TASK_GPUS = 64;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Queue names, key prefixes and tracker names share this shape. Returns the reason, or null. */
export function checkName(value: string): string | null {
  return NAME.test(value)
    ? null
    : 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit';
}

export interface QueueKeys {
  readonly prefix: string;
  readonly queue: string;
  /** Stream of entries waiting for a tracker, one stream per GPU count (0 = a CPU slot). */
  tasks(gpus: number): string;
  /**
   * Stream of tasks that go before every waiting task of their GPU count: the running tasks of a
   * tracker that died or shut down, handed back to the queue. They were taken before anything
   * still waiting, so trackers take them first (one stream per GPU count, beside `tasks`).
   */
  requeued(gpus: number): string;
  /** Set of the GPU counts that have a task stream. */
  readonly taskStreams: string;
  task(id: string): string;
  lease(id: string): string;
  log(id: string): string;
  readonly events: string;
  readonly dead: string;
  /** Hash: tracker name → JSON of its registration (host, slots, executers, heartbeat). */
  readonly trackers: string;
  /**
   * String with a short TTL, refreshed by its tracker: the live instance holding a consumer name.
   * Once it has expired the tracker counts as dead, and others reclaim its tasks at once.
   */
  trackerAlive(name: string): string;
  /** Stream of control messages (cancel) for one tracker. */
  trackerControl(name: string): string;
  /** Hash: executer name → JSON of its catalog entry (version, parameter schema, defaults). */
  readonly executers: string;
  /** Sorted set: task id by creation time, newest last (listing). */
  readonly index: string;
  idempotency(tenant: string, keyHash: string): string;
  /** Sorted set: task id by the time its retry backoff ends. */
  readonly delayed: string;
  /** String: the last task-stream entry id handed out (ids are ordered across the queue's streams). */
  readonly lastEntry: string;
  /** String: when the sweep first saw no live tracker able to run tasks of this GPU count. */
  unschedulableSince(gpus: number): string;
  /**
   * The tenant accounts (`tenantAccountKeys`), kept by every status write (lua/lib-common.lua
   * `writeStatus`); a tenant whose count is 0 has no field. Hash: tenant → its tasks `queued`.
   */
  readonly tenantWaiting: string;
  /** Hash: tenant → its tasks `running` (not `uploading`: their GPUs are free by then). */
  readonly tenantRunning: string;
  /** Hash: tenant → the GPUs its `running` tasks hold (a 0-GPU task holds none). */
  readonly tenantGpus: string;
}

/** The slot of a key template: a character no task id, tracker name, queue or prefix may hold. */
export const KEY_SLOT = '*';

/**
 * The template of one of the keys `QueueKeys` builds from an id (`keyTemplate(keys.task)`): that
 * key with `KEY_SLOT` where the id goes, the last `KEY_SLOT` in it (the id follows the prefix and
 * the queue). For a Lua script that finds the id in Redis and so cannot be given the key itself
 * (take, claim-read; lua/lib-common.lua `keyOf` fills it in).
 */
export function keyTemplate(build: (id: string) => string): string {
  return build(KEY_SLOT);
}

/** The requeued stream (see `QueueKeys.requeued`) beside a task stream or requeued stream key. */
export function requeuedStreamOf(stream: string): string {
  const match = /^(.*):(?:tasks|requeued):(\d+)$/.exec(stream);
  if (!match) throw new Error(`not a task stream key: ${stream}`);
  return `${match[1]}:requeued:${match[2]}`;
}

/**
 * The three tenant account hashes, in the order every script that writes a status takes them in
 * KEYS (waiting, running, GPUs): its header names where.
 */
export function tenantAccountKeys(keys: QueueKeys): [waiting: string, running: string, gpus: string] {
  return [keys.tenantWaiting, keys.tenantRunning, keys.tenantGpus];
}

export function queueKeys(prefix: string, queue: string): QueueKeys {
  const base = `${prefix}:{${queue}}`;
  return {
    prefix,
    queue,
    tasks: (gpus) => `${base}:tasks:${gpus}`,
    requeued: (gpus) => `${base}:requeued:${gpus}`,
    taskStreams: `${base}:task-streams`,
    task: (id) => `${base}:task:${id}`,
    lease: (id) => `${base}:task:${id}:lease`,
    log: (id) => `${base}:task:${id}:log`,
    events: `${base}:events`,
    dead: `${base}:dead`,
    trackers: `${base}:trackers`,
    trackerAlive: (name) => `${base}:tracker:${name}`,
    trackerControl: (name) => `${base}:tracker:${name}:control`,
    executers: `${base}:executers`,
    index: `${base}:index`,
    idempotency: (tenant, keyHash) => `${base}:idem:${tenant}:${keyHash}`,
    lastEntry: `${base}:last-entry`,
    delayed: `${base}:delayed`,
    unschedulableSince: (gpus) => `${base}:unschedulable:${gpus}`,
    tenantWaiting: `${base}:tenant-waiting`,
    tenantRunning: `${base}:tenant-running`,
    tenantGpus: `${base}:tenant-gpus`,
  };
}
