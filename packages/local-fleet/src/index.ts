/**
 * @gpufleet/local-fleet: a whole gpufleet on one machine (what `npm start` runs).
 *
 * @example
 * import { startLocalFleet } from '@gpufleet/local-fleet';
 * const fleet = await startLocalFleet({ dataDir: '.gpufleet' });
 * // ... submit tasks to fleet.redis.url ...
 * await fleet.close();
 */
export { runDemoTask } from './demo-task.js';
export type { DemoOptions } from './demo-task.js';
export { connectToFleet, startLocalFleet } from './local-fleet.js';
export type { LocalFleet, LocalFleetOptions } from './local-fleet.js';
export { findLocalRedis, HOW_TO_GET_REDIS } from './local-redis.js';
export type { LocalRedis } from './local-redis.js';
