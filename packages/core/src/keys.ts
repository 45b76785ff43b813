/**
 * Every Redis key and stream name gpufleet uses, built in one place. All keys of one queue share
 * the hash tag `{queue}`, so a queue lives on one Redis Cluster shard and its Lua scripts may
 * touch any of them. The Lua scripts build no key: each gets its keys in KEYS (a key named in
 * Redis, such as a task's stream, is read by the caller first and checked by the script). Only
 * take, which finds a task id in a wait set inside the script, gets the key templates
 * (`keyTemplate`) of that task's hash and lease key to fill in, and a wait set's key is derived
 * from the declared registry (`waitSet`; lua/lib-common.lua says more).
 */
import { PRIORITY_MAX } from './task-priority.js';

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

/** String with a TTL: a download link the API handed out, JSON of its task and output (fleet-wide). */
export function downloadLinkKey(prefix: string, token: string): string {
  return `${prefix}:download:${token}`;
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
  /** Stream of control messages (cancel, drain, undrain) for one tracker. */
  trackerControl(name: string): string;
  /**
   * Hash: the operators' drains (tracker-drains.ts), which outlive a tracker's restart: `<tracker>`
   * for the whole tracker, `<tracker>#<gpu index>` for one GPU → JSON `{reason, at, by}`.
   */
  readonly drains: string;
  /** Hash: executer name → JSON of its catalog entry (version, parameter schema, defaults). */
  readonly executers: string;
  /** Sorted set: task id by creation time, newest last (listing). */
  readonly index: string;
  idempotency(tenant: string, keyHash: string): string;
  /** Sorted set: task id by the time its retry backoff ends. */
  readonly delayed: string;
  /** String: the last task-stream entry id handed out (ids are ordered across the queue's streams). */
  readonly lastEntry: string;
  /**
   * String: when the sweep first saw no live tracker able to run tasks of this size (a GPU count, or
   * a GPU count with a GPU request's suffix: `2~h100~`).
   */
  unschedulableSince(size: number | string): string;
  /**
   * The tenant accounts (`tenantAccountKeys`), kept by every status write (lua/lib-common.lua
   * `writeStatus`); a tenant whose count is 0 has no field. Hash: tenant → its tasks `queued`.
   */
  readonly tenantWaiting: string;
  /** Hash: tenant → its tasks `running` (not `uploading`: their GPUs are free by then). */
  readonly tenantRunning: string;
  /** Hash: tenant → the GPUs its `running` tasks hold (a 0-GPU task holds none). */
  readonly tenantGpus: string;
  /**
   * Hash: tenant → its fair-share usage, `<GPU-ms decayed to at>,<at ms>` (lua/lib-common.lua
   * `accrueUsage`), kept by every status write that changes the tenant's running GPUs; and
   * `~halfLifeMs` → the fair-share half-life (written by `enqueue()`).
   */
  readonly tenantUsage: string;
  /**
   * Hash: tenant → `<weight>,<max running GPUs or ''>`; written by `enqueue()` from the API's
   * tenant settings, read by `take`.
   */
  readonly tenantSettings: string;
  /**
   * Sorted set of the wait sets that hold tasks, as `waitSetName(gpus, priority, kind, tenant,
   * request)`, scored by class (lua/lib-wait.lua waitClassScore: higher priority first, requeued before
   * waiting). The wait set of a name is `waitSet(name)`: a sorted set (all scores 0, members
   * `<entry order>:<task id>`) of the tasks of that size, GPU request, priority, kind and tenant
   * that wait to be taken (lua/lib-wait.lua).
   */
  readonly waitSets: string;
  waitSet(name: string): string;
  /**
   * Sorted set, every score 0: the tenant registry, one member per class (priority and kind) and
   * tenant that has a wait set listed in `waitSets`, `<waitClass(priority, kind)>:<tenant>:<its
   * wait sets' GPU counts, each with its GPU request's suffix, comma-separated>` (lua/lib-wait.lua), so that take reads a class's tenants
   * rather than all its sets, and the sets of the tenants ranked first only. The members sort class
   * by class in the order classes are taken.
   */
  readonly waitTenants: string;
  /**
   * Hash: the backfill reservation of the first task in line that does not fit (lua/take.lua):
   * `task`, `tracker` (its holder), `at` (ms, when the holder's GPUs free for it by time limits),
   * `gpus`; expires unless its holder keeps taking.
   */
  readonly reservation: string;
  /**
   * Hash: first task in line → `<tracker>,<until ms>`, the preemptions under way
   * (lua/preempt.lua): while one lasts, no other tracker stops tasks for that task.
   */
  readonly preemptions: string;
  /** String with a TTL: the tracker that runs the retention sweep now (retention-sweep.ts), one at a time. */
  readonly retentionLease: string;
  /**
   * Hash: the fleet's Redis function libraries (lua-library.ts) → when a process of this queue
   * last said it runs them (ms); libraries of versions unseen for long are deleted (function-versions.ts).
   */
  readonly functionsSeen: string;
  /** Hash: what the retention sweep did, `archived` (tasks archived and removed, all time). */
  readonly retentionStats: string;
  /**
   * Hash: tenant → its task records in Redis (enqueue.lua adds one, forget.lua takes one away), for a
   * tenant's maximum of finished tasks (retention-sweep.ts). Records made before it existed are not
   * counted, so it may read low after an upgrade, never high.
   */
  readonly tenantRecords: string;
  /**
   * Sorted set, only with an outputs retention: archived tasks whose outputs are to be deleted,
   * `<tenant>/<task id>/<attempts>` by the time the task ended (retention/outputs-retention.ts).
   */
  readonly outputsDue: string;
}

/** The slot of a key template: a character no task id, tracker name, queue or prefix may hold. */
export const KEY_SLOT = '*';

/**
 * The template of one of the keys `QueueKeys` builds from an id (`keyTemplate(keys.task)`): that
 * key with `KEY_SLOT` where the id goes, the last `KEY_SLOT` in it (the id follows the prefix and
 * the queue). For a Lua script that finds the id in Redis and so cannot be given the key itself
 * (take; lua/lib-common.lua `keyOf` fills it in).
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

const WAIT_SETS = 'wait-sets';
const DELAYED = 'delayed';
const WAIT_SET = 'wait:';

/**
 * For lua/lib-wait.lua (`-- @generated wait-set-key`): how a wait set's key is made from the
 * registry's (`QueueKeys.waitSets`) and its name, the same as `QueueKeys.waitSet`; and the delayed
 * set's (`QueueKeys.delayed`) from the registry's, for a task's end to release the tasks that wait
 * for it (lib-common.lua releaseDependents).
 */
export function waitSetKeyLua(): string {
  return [
    `local WAIT_SETS_SUFFIX, WAIT_SET_TEMPLATE = '${WAIT_SETS}', '${WAIT_SET}${KEY_SLOT}'`,
    // The queue's key prefix (`<prefix>:{<queue>}:`), the registry's key less its suffix.
    'local function queueBase(Q)',
    '  return string.sub(Q.waitSets, 1, #Q.waitSets - #WAIT_SETS_SUFFIX)',
    'end',
    'local function waitSetKey(Q, name)',
    '  return keyOf(queueBase(Q) .. WAIT_SET_TEMPLATE, name)',
    'end',
    `local DELAYED_SUFFIX = '${DELAYED}'`,
    'local function delayedKey(Q)',
    '  return queueBase(Q) .. DELAYED_SUFFIX',
    'end',
  ].join('\n');
}

/** A wait set's kind: 'r' holds requeued tasks (first within their priority), 'w' the others. */
export type WaitSetKind = 'r' | 'w';

/**
 * The name of the wait set of the tasks of one size, GPU request (gpu-request.ts
 * `gpuRequestSuffix`: '' for none), priority, kind and tenant (`QueueKeys.waitSets`).
 */
export function waitSetName(
  gpus: number,
  priority: number,
  kind: WaitSetKind,
  tenant: string,
  request = '',
): string {
  return `${gpus}${request}:${priority}:${kind}:${tenant}`;
}

/** A wait set's name taken apart (`request`: its GPU request's suffix, '' for none); null when it is not one. */
export function parseWaitSetName(
  name: string,
): { gpus: number; request: string; priority: number; kind: WaitSetKind; tenant: string } | null {
  const match = /^(\d+)(~[^:~]*~\d*(?:~\d+)?)?:(\d+):([rw]):(.+)$/.exec(name);
  if (!match) return null;
  return {
    gpus: Number(match[1]),
    request: match[2] ?? '',
    priority: Number(match[3]),
    kind: match[4] as WaitSetKind,
    tenant: match[5] ?? '',
  };
}

/**
 * A class of waiting tasks (a priority and a kind) as the tenant registry (`QueueKeys.waitTenants`)
 * spells it: PRIORITY_MAX - priority on 4 digits, then the kind, so that the classes sort as they
 * are taken (higher priority first; 'r' before 'w' within one). Lua: `waitClassLua`.
 */
export function waitClass(priority: number, kind: WaitSetKind): string {
  return `${String(PRIORITY_MAX - priority).padStart(4, '0')}${kind}`;
}

/** For lua/lib-wait.lua (`-- @generated wait-class`): `waitClass` in Lua. */
export function waitClassLua(): string {
  return [
    `local PRIORITY_MAX = ${PRIORITY_MAX}`,
    'local function waitClass(priority, kind)',
    "  return string.format('%04d%s', PRIORITY_MAX - priority, kind)",
    'end',
  ].join('\n');
}

/**
 * The scheduling keys, in the order every script that writes a status or moves a waiting task
 * takes them in KEYS (lua/lib-common.lua `schedulingQ`): the three tenant accounts (waiting,
 * running, GPUs), the fair-share usage, the tenant settings, the wait-set registry and the tenant
 * registry. A wait set's own key is the registry's name with `wait-sets` replaced by
 * `wait:<name>` (`waitSet`), which the scripts derive from the declared registry (same `{queue}`
 * slot).
 */
export function schedulingKeys(
  keys: QueueKeys,
): [
  waiting: string,
  running: string,
  gpus: string,
  usage: string,
  settings: string,
  waitSets: string,
  waitTenants: string,
] {
  return [
    keys.tenantWaiting,
    keys.tenantRunning,
    keys.tenantGpus,
    keys.tenantUsage,
    keys.tenantSettings,
    keys.waitSets,
    keys.waitTenants,
  ];
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
    drains: `${base}:drains`,
    executers: `${base}:executers`,
    index: `${base}:index`,
    idempotency: (tenant, keyHash) => `${base}:idem:${tenant}:${keyHash}`,
    lastEntry: `${base}:last-entry`,
    delayed: `${base}:${DELAYED}`,
    unschedulableSince: (size) => `${base}:unschedulable:${size}`,
    tenantWaiting: `${base}:tenant-waiting`,
    tenantRunning: `${base}:tenant-running`,
    tenantGpus: `${base}:tenant-gpus`,
    tenantUsage: `${base}:tenant-usage`,
    tenantSettings: `${base}:tenant-settings`,
    waitSets: `${base}:${WAIT_SETS}`,
    waitSet: (name) => `${base}:${WAIT_SET}${name}`,
    waitTenants: `${base}:wait-tenants`,
    reservation: `${base}:reservation`,
    preemptions: `${base}:preemptions`,
    retentionLease: `${base}:retention-lease`,
    functionsSeen: `${base}:functions-seen`,
    retentionStats: `${base}:retention-stats`,
    tenantRecords: `${base}:tenant-records`,
    outputsDue: `${base}:outputs-due`,
  };
}
