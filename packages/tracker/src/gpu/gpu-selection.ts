/**
 * GPUFLEET_GPUS: the GPUs a tracker may use, by nvidia-smi index (`0,1,3`), by UUID (`GPU-…`, as
 * `nvidia-smi -L` shows it; the same whatever the index) or both, or `none`. `parseGpuList` checks
 * the text with the other settings (config.ts); `resolveGpus` turns it into GPU ids at start
 * against the inventory, refusing a UUID no GPU has with a ConfigError naming GPUFLEET_GPUS, so the
 * tracker reports it as it reports every bad setting. MIG devices (`MIG-…`) are refused: a slot is
 * a whole GPU.
 */
import { ConfigError, type EnvReader, type FieldIssue, type GpuInventory } from '@gpufleet/core';

/** A GPU as GPUFLEET_GPUS names it: its index, or its UUID (`GPU-…`). */
export type GpuSelector = number | string;

const FIELD = 'GPUFLEET_GPUS';
const GPU_UUID = /^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** GPUFLEET_GPUS: null when unset (every GPU nvidia-smi lists), [] for `none`. */
export function parseGpuList(reader: EnvReader): GpuSelector[] | null {
  const raw = reader.raw(FIELD);
  if (raw === undefined) return null;
  if (raw.toLowerCase() === 'none') return [];
  const ids = raw.split(',').map((s) => s.trim());
  const bad = ids.filter((s) => !/^\d{1,3}$/.test(s) && !GPU_UUID.test(s));
  const mig = bad.find((s) => /^MIG-/i.test(s));
  if (mig !== undefined) {
    reader.fail(
      FIELD,
      `names the MIG device ${mig}: a task gets whole GPUs; name the GPU by index or by its GPU- UUID`,
    );
  }
  if (bad.some((s) => !/^MIG-/i.test(s))) {
    reader.fail(
      FIELD,
      `must be a comma-separated list of GPU indices (0,1,3) or UUIDs (GPU-…, as nvidia-smi -L shows them), or none (got "${raw}")`,
    );
  }
  if (bad.length > 0) return [];
  const keys = ids.map((s) => s.toLowerCase());
  if (new Set(keys).size !== keys.length) reader.fail(FIELD, `lists a GPU twice (got "${raw}")`);
  return ids.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export interface GpuSelection {
  /** The GPUs tasks get, by index, in GPUFLEET_GPUS's order (else nvidia-smi's). */
  gpuIds: number[];
  /** The inventory of those GPUs only (one the inventory does not list is left out). */
  inventory: GpuInventory;
  /** Indices GPUFLEET_GPUS names that nvidia-smi, which listed the GPUs, does not list. */
  unlisted: number[];
}

function missingUuid(uuid: string, inventory: GpuInventory): string {
  if (inventory.error !== null) {
    return `names ${uuid}, but the GPUs could not be listed to find it: ${inventory.error}`;
  }
  const listed = inventory.gpus.map((g) => `${g.uuid} (${g.index})`).join(', ');
  return `names ${uuid}, which no GPU of this machine has (nvidia-smi lists ${listed || 'no GPU'})`;
}

/**
 * The GPUs `selectors` (config.gpus) name, by index; null: every GPU the inventory lists. Throws a
 * ConfigError when a UUID matches no GPU or two entries name the same GPU.
 */
export function resolveGpus(selectors: readonly GpuSelector[] | null, inventory: GpuInventory): GpuSelection {
  const issues: FieldIssue[] = [];
  const namedBy = new Map<number, GpuSelector>();
  for (const selector of selectors ?? inventory.gpus.map((g) => g.index)) {
    const index =
      typeof selector === 'number'
        ? selector
        : inventory.gpus.find((g) => g.uuid.toLowerCase() === selector.toLowerCase())?.index;
    if (index === undefined) {
      issues.push({ field: FIELD, reason: missingUuid(String(selector), inventory) });
      continue;
    }
    const earlier = namedBy.get(index);
    if (earlier !== undefined) {
      issues.push({ field: FIELD, reason: `names GPU ${index} twice (${earlier} and ${selector})` });
      continue;
    }
    namedBy.set(index, selector);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const gpuIds = [...namedBy.keys()];
  const devices = gpuIds.flatMap((id) => inventory.gpus.filter((g) => g.index === id));
  const unlisted =
    inventory.error === null ? gpuIds.filter((id) => !devices.some((g) => g.index === id)) : [];
  return { gpuIds, inventory: { ...inventory, gpus: devices }, unlisted };
}
