/**
 * The crash-under-a-backlog rounds of bench/compare-recovery.ts: each round draws one set of task
 * lengths and runs it in every configuration (the order alternating between rounds), then prints
 * the medians side by side and gpufleet's figures against its limit, TTL + sweep + 1 s.
 */
import { Queue } from 'bullmq';
import { makeTempDir, removeDir, type RedisServer } from '@gpufleet/testkit';
import { TRACKER_DEFAULTS } from '@gpufleet/tracker';
import { connectionOf } from './bullmq.js';
import {
  runBacklogRound,
  taskLengths,
  waitForRedisAge,
  type BacklogOutcome,
  type RecoveryConfig,
} from './recovery-backlog.js';
import { progress } from './report.js';
import { fmt, median } from './stats.js';

export interface BacklogConfig extends RecoveryConfig {
  settings: string;
  /** gpufleet: liveness TTL + sweep, ms; the limit is this + 1 s. */
  ttlSweepMs?: number;
}

export interface BacklogOptions {
  rounds: number;
  tasks: number;
  killAtPercent: number;
  timeoutMs: number;
  /** Slots per worker (CPU slots of a tracker, concurrency of a BullMQ worker). */
  slots?: number;
}

export interface BacklogRows {
  tasks: number;
  slots: number;
  killAtPercent: number;
  rows: Array<Record<string, unknown>>;
  perRound: Record<string, BacklogOutcome[]>;
  targets: Record<string, { value: number; limit: number; met: string }>;
}

let count = 0;

const s = (ms: number): string => fmt(ms / 1000, 2);
const spread = (values: number[]): string =>
  `${s(median(values))} (${s(Math.min(...values))}–${s(Math.max(...values))})`;

export async function runBacklog(
  server: RedisServer,
  configs: readonly BacklogConfig[],
  options: BacklogOptions,
): Promise<BacklogRows> {
  const slots = options.slots ?? 4;
  const redis = server.client();
  const results = new Map<string, BacklogOutcome[]>(configs.map((c) => [c.name, []]));
  try {
    await waitForRedisAge(redis, TRACKER_DEFAULTS.aliveMs);
    for (let r = 0; r < options.rounds; r++) {
      const lengths = taskLengths(options.tasks, r + 1);
      for (const config of r % 2 === 0 ? configs : [...configs].reverse()) {
        const id = `backlog${++count}`;
        const dir = await makeTempDir('gpufleet-recovery-');
        const queue = new Queue(id, { connection: connectionOf(server.url) });
        try {
          const o = await runBacklogRound(config, {
            redis,
            redisUrl: server.url,
            queue,
            id,
            dir,
            slots,
            lengths,
            killAtPercent: options.killAtPercent,
            timeoutMs: options.timeoutMs,
          });
          results.get(config.name)?.push(o);
          progress(
            `backlog round ${r + 1}/${options.rounds} ${config.name}: ${o.orphans} orphans, ${o.waitingAtKill} waiting; every orphan restarted ${s(o.restartLastMs)} s, done ${s(o.doneMs)} s after the kill; makespan ${s(o.makespanMs)} s${o.endedUnseen ? `; ${o.endedUnseen} ended unseen` : ''}`,
          );
        } finally {
          await queue.close();
          await removeDir(dir);
        }
      }
    }
  } finally {
    await redis.quit();
  }

  const of = (c: BacklogConfig, k: keyof BacklogOutcome): number[] =>
    (results.get(c.name) ?? []).map((o) => o[k]);
  const rows = configs.map((c) => ({
    config: c.name,
    settings: c.settings,
    orphans: median(of(c, 'orphans')),
    waitingAtKill: median(of(c, 'waitingAtKill')),
    restartLastS: median(of(c, 'restartLastMs')) / 1000,
    doneS: median(of(c, 'doneMs')) / 1000,
    makespanS: median(of(c, 'makespanMs')) / 1000,
    idealS: median(of(c, 'idealMs')) / 1000,
    floorS: median(of(c, 'floorMs')) / 1000,
  }));
  console.table(
    Object.fromEntries(
      configs.map((c) => [
        c.name,
        {
          orphans: fmt(median(of(c, 'orphans')), 0),
          'waiting at kill': fmt(median(of(c, 'waitingAtKill')), 0),
          'kill → every orphan restarted s': spread(of(c, 'restartLastMs')),
          'kill → every orphan done s': spread(of(c, 'doneMs')),
          'not started at last restart': fmt(median(of(c, 'waitingAtLastRestart')), 0),
          'makespan s': spread(of(c, 'makespanMs')),
          'floor s: perfect survivor (no crash)': `${s(median(of(c, 'floorMs')))} (${s(median(of(c, 'idealMs')))})`,
          failed: of(c, 'failed').reduce((a, b) => a + b, 0),
        },
      ]),
    ),
  );

  const targets: BacklogRows['targets'] = {};
  for (const c of configs) {
    if (c.ttlSweepMs === undefined) continue;
    const limit = c.ttlSweepMs + 1000;
    const judge = (values: number[]): { value: number; limit: number; met: string } => {
      const within = values.filter((v) => v <= limit).length;
      return {
        value: Math.max(...values),
        limit,
        met: within === values.length ? 'met' : `MISSED in ${values.length - within} of ${values.length}`,
      };
    };
    targets[`${c.name}: kill → every orphan restarted ≤ TTL + sweep + 1 s`] = judge(of(c, 'restartLastMs'));
    targets[`${c.name}: kill → every orphan done − its length ≤ TTL + sweep + 1 s`] = judge(
      of(c, 'doneLessLengthMs'),
    );
    const peer = configs.find((p) => p.name === c.name.replace('gpufleet', 'BullMQ'));
    if (peer)
      for (const [what, k] of [
        ['kill → every orphan done', 'doneMs'],
        ['makespan', 'makespanMs'],
      ] as const) {
        const ratio = median(of(c, k)) / median(of(peer, k));
        targets[`${c.name} / ${peer.name}: ${what} (medians)`] = { value: ratio, limit: NaN, met: '' };
      }
  }
  console.table(
    Object.fromEntries(
      Object.entries(targets).map(([name, t]) => [
        name,
        Number.isNaN(t.limit)
          ? { value: fmt(t.value, 3), limit: '', target: '' }
          : { value: `${s(t.value)} s (worst round)`, limit: `${s(t.limit)} s`, target: t.met },
      ]),
    ),
  );
  return {
    tasks: options.tasks,
    slots,
    killAtPercent: options.killAtPercent,
    rows,
    perRound: Object.fromEntries(results),
    targets,
  };
}
