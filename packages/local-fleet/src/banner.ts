/**
 * What `npm start` prints once the fleet is up: Redis, the tracker, the dashboard (its URL and the
 * key to sign in with: a local key, new at each start), the API and its docs, where
 * the artifacts go, and how to submit with the `gpufleet` command (`cli`: how to run it here).
 */
import { basename, dirname, resolve } from 'node:path';
import type { LocalFleet } from './local-fleet.js';

export function printBanner(
  fleet: LocalFleet,
  dataDirArg: string,
  cli: string,
  print: (line: string) => void,
): void {
  const info = fleet.tracker.info();
  const slots = info.gpus.length > 0 ? `GPUs ${info.gpus.join(',')}` : `${info.cpuSlots} CPU slots`;
  const redis =
    fleet.redis.source === 'started' ? `started here, data in ${dataDirArg}/redis` : fleet.redis.source;
  print('gpufleet local fleet is up');
  print(`  redis:     ${fleet.redis.url} (${redis})`);
  print(`  tracker:   ${info.name}: ${slots}, executers ${info.executers.join(', ')}`);
  print(
    `  dashboard: ${fleet.api.url}/ (sign in with the key ${fleet.api.token}, also in ${dataDirArg}/local-token)`,
  );
  print(`  api:       ${fleet.api.url} (token in ${dataDirArg}/local-token)`);
  print(`  docs:      ${fleet.api.docsUrl}`);
  print(`  artifacts: ${dataDirArg}/artifacts`);
  // The CLI finds `.gpufleet/local-api.json` from the working folder upwards; elsewhere it needs a hint.
  const found = basename(fleet.dataDir) === '.gpufleet';
  const hint = found
    ? `(from ${dirname(fleet.dataDir)} or below)`
    : `(first: export GPUFLEET_LOCAL_DIR=${resolve(fleet.dataDir)})`;
  print(`submit with the gpufleet command ${hint}:`);
  print(`  ${cli} executers`);
  print(`  ${cli} submit sph --param particles=2000 --wait --download ./dam-break`);
  print(`  ${cli} ls`);
}
