/**
 * A tracker's presence in its queue: its liveness key, refreshed every GPUFLEET_ALIVE_MS / 3 (once
 * it expires the others take it for dead), and its registry entry with what it runs (its
 * executers; `envSetup` when it runs env setup lines), its GPUs' inventory and their latest usage
 * sample (gpu/gpu-sampler.ts), written at each heartbeat, which also republishes the executer
 * catalog when Redis lost it. The GPUs it holds back and a drain are in the entry too: each
 * heartbeat first reads the operators' drains (drains.ts), and a drain message that changes them
 * publishes the entry at once.
 */
import type { Redis } from 'ioredis';
import {
  publishCatalog,
  type GpuHoldInfo,
  type GpuInventory,
  type LoadedExecuter,
  type Logger,
  type QueueKeys,
  type TrackerInfo,
} from '@gpufleet/core';
import type { ControlMessage } from './control-reader.js';
import { drainMessage, TrackerDrains } from './drains.js';
import type { GpuSampler } from './gpu/gpu-sampler.js';
import { refreshConsumerName, writeRegistration, type Holder } from './registration.js';
import type { RunningAttempts } from './running-attempts.js';
import type { SlotPool } from './slot-pool.js';
import { catalogEntries } from './tracker-connections.js';
import type { EmitTrackerEvent } from './tracker-events.js';

export interface TrackerPresenceDeps {
  redis: Redis;
  keys: QueueKeys;
  /** The tracker's consumer name. */
  consumer: string;
  holder: Holder;
  executers: ReadonlyMap<string, LoadedExecuter>;
  /** It runs tasks' env setup lines (GPUFLEET_ALLOW_ENV_SETUP): published as `envSetup: true`. */
  envSetup: boolean;
  pool: SlotPool;
  /** The GPUs' inventory (absent: none to publish). */
  gpuInventory: GpuInventory | undefined;
  /** Its GPUs' usage sampler (absent: no usage to publish). */
  gpuSampler: Pick<GpuSampler, 'latest'> | undefined;
  attempts: Pick<RunningAttempts, 'gpusInUse'>;
  aliveMs: number;
  heartbeatMs: number;
  startedAt: number;
  now: () => number;
  logger: Logger;
  emit: EmitTrackerEvent;
  /** Another instance holds this tracker's consumer name now: the tracker must stop. */
  nameLost: () => void;
}

/** The pool's GPUs held back, for the registry. */
function heldGpus(pool: SlotPool): GpuHoldInfo[] {
  return [...pool.heldGpus].map(([index, { kind, reason, processes }]) => ({
    index,
    kind,
    reason,
    ...(processes && { processes: processes.map((p) => ({ ...p })) }),
  }));
}

export class TrackerPresence {
  /** The operators' drains, applied to the pool. */
  readonly drains: TrackerDrains;

  constructor(private readonly deps: TrackerPresenceDeps) {
    this.drains = new TrackerDrains(deps);
  }

  /** A control message for the drains (others are ignored): applied at once, published if it changed. */
  onControl(message: ControlMessage): void {
    const drain = drainMessage(message);
    if (!drain) return;
    const { redis, keys, logger } = this.deps;
    this.drains
      .sync(drain.undrain)
      .then((changed) => (changed ? writeRegistration(redis, keys, this.info()) : undefined))
      // The next heartbeat reads the drains again.
      .catch((error: unknown) => logger.warn({ err: error }, 'could not apply a drain message'));
  }

  info(): TrackerInfo {
    const { deps } = this;
    const gpuStats = deps.gpuSampler?.latest();
    return {
      name: deps.consumer,
      instance: deps.holder.instance,
      host: deps.holder.host,
      pid: deps.holder.pid,
      pidStartTime: deps.holder.pidStartTime,
      gpus: [...deps.pool.gpuIds],
      cpuSlots: deps.pool.cpuSlots,
      executers: [...deps.executers.keys()],
      ...(deps.envSetup && { envSetup: true }),
      running: deps.attempts.gpusInUse(),
      startedAt: deps.startedAt,
      heartbeatAt: deps.now(),
      heartbeatMs: deps.heartbeatMs,
      ...(deps.gpuInventory && { gpuInventory: deps.gpuInventory }),
      ...(gpuStats && { gpuStats }),
      ...(deps.pool.heldGpus.size > 0 && { gpuHolds: heldGpus(deps.pool) }),
      ...(deps.pool.drained !== null && { drained: deps.pool.drained }),
    };
  }

  /** Refreshes the liveness key: other trackers reclaim this one's tasks once it expires. */
  async refreshAlive(): Promise<void> {
    const { redis, keys, consumer, holder, aliveMs } = this.deps;
    if (!(await refreshConsumerName(redis, keys, consumer, holder, aliveMs))) this.deps.nameLost();
  }

  async heartbeat(): Promise<void> {
    const { redis, keys, executers } = this.deps;
    await this.drains.sync();
    await writeRegistration(redis, keys, this.info());
    const [first] = executers.keys();
    if (first !== undefined && !(await redis.hexists(keys.executers, first))) {
      this.deps.logger.warn(
        'the executer catalog is missing (Redis was flushed or replaced); publishing it again',
      );
      await publishCatalog(redis, keys, catalogEntries(executers, this.deps.consumer, this.deps.now()));
    }
  }
}
