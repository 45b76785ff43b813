/**
 * The parts of the client that need Node's file system (reading `submit`'s inputs from disk,
 * writing `task.download()`'s files) are loaded when first used, never when the library loads, so
 * the library also runs in a browser. The package's `browser` field maps those modules to nothing
 * for bundlers; there, using one of these parts throws a `NodeOnlyError`.
 *
 * @example
 * const load = async () => (await import('./inputs/input-files.js')).collectInputs;
 * const collectInputs = await nodeOnly('submit with inputs', load);
 */
import { NodeOnlyError } from './errors.js';

/** The function `load` picks out of a Node-only module, or a `NodeOnlyError` naming `what`. */
export async function nodeOnly<F extends (...args: never[]) => unknown>(
  what: string,
  load: () => Promise<F | undefined>,
): Promise<F> {
  let loaded: F | undefined;
  try {
    loaded = await load();
  } catch (error) {
    throw new NodeOnlyError(what, error);
  }
  if (typeof loaded !== 'function') throw new NodeOnlyError(what);
  return loaded;
}
