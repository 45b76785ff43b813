/**
 * @gpufleet/local-fleet: a whole gpufleet on one machine (what `npm start` runs).
 *
 * @example
 * import { GpufleetClient } from '@gpufleet/api-client';
 * import { startLocalFleet } from '@gpufleet/local-fleet';
 * const fleet = await startLocalFleet({ dataDir: '.gpufleet' });
 * const client = new GpufleetClient({ url: fleet.api.url, token: fleet.api.token });
 * // ... submit tasks; the `gpufleet` command finds this fleet through .gpufleet/local-api.json ...
 * await fleet.close();
 */
export { printBanner } from './banner.js';
export { gpufleetCommand } from './cli-command.js';
export { runDemoTask } from './demo-task.js';
export type { DemoOptions, DemoResult } from './demo-task.js';
export { DEFAULT_LOCAL_API_PORT, LOCAL_TOKEN_FILE, startLocalApi } from './local-api.js';
export type { LocalApi, LocalApiOptions } from './local-api.js';
export { connectToFleet, startLocalFleet } from './local-fleet.js';
export type { LocalFleet, LocalFleetOptions } from './local-fleet.js';
export { findLocalRedis, HOW_TO_GET_REDIS } from './local-redis.js';
export type { LocalRedis } from './local-redis.js';
export { shutdownNotice } from './shutdown-notice.js';
