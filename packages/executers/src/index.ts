/**
 * @gpufleet/executers: gpufleet's executer catalog (`catalog/<name>/executer.json` with its scripts,
 * sources and Dockerfile): `script`, `sph`, `dualsphysics`, `noop` and `sim-server` (a service).
 *
 * @example
 * import { loadExecuters } from '@gpufleet/core';
 * import { CATALOG_DIR } from '@gpufleet/executers';
 * const executers = await loadExecuters([CATALOG_DIR], { allowOptIn: false }); // script is skipped
 * // a tracker: GPUFLEET_EXECUTERS=<CATALOG_DIR> (add GPUFLEET_ENABLE_OPT_IN_EXECUTERS=true for script)
 */
import { fileURLToPath } from 'node:url';

/** Absolute path of the catalog folder; give it to a tracker as GPUFLEET_EXECUTERS. */
export const CATALOG_DIR: string = fileURLToPath(new URL('../catalog', import.meta.url));
