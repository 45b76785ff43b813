/**
 * A task's GPU request beyond a count: the GPU models it may run on (any of a list of patterns)
 * and the least memory each of its GPUs must have. A tracker takes only a task whose every GPU it
 * can give from GPUs that satisfy both (take.lua with lua/lib-gpu-request.lua, the same rules in
 * Lua; test/gpu-request.test.ts runs both on the same cases).
 *
 * A model pattern matches a GPU's name (as nvidia-smi reports it) word by word, ignoring case:
 * both are cut into words at every character other than a letter, a digit or `*`, and the pattern's
 * words must appear in the name one after another, whole. `*` stands for any characters. So `H100`
 * matches `NVIDIA H100 80GB HBM3`, `A100` matches `NVIDIA A100-SXM4-80GB`, `A10` matches neither
 * `A100` nor `A10G`, `rtx 40*` matches `NVIDIA GeForce RTX 4090`.
 *
 * Memory is compared with the total the driver reports (`memory.total`, MiB), which is a little
 * under the marketing figure: an "80GB" H100 reports 81,559 MiB (79.6 GiB), so `80GiB` (81,920 MiB)
 * excludes it while `80GB` (10^9 bytes, 76,294 MiB) does not.
 *
 * In Redis the request is one string (`gpuRequestSuffix`): it follows the GPU count in the name
 * of the task's wait set (`2~h100|a100~40960`), so tasks of one request wait together and a tracker
 * that cannot satisfy it never looks at them.
 */

/** What a task asks of each of its GPUs; empty (`{ models: [], minMemoryMiB: null }`) asks nothing. */
export interface GpuRequest {
  /** Model patterns, any of which may match; [] any model. */
  models: readonly string[];
  /** The least total memory per GPU (MiB); null any. */
  minMemoryMiB: number | null;
  /**
   * A share of one GPU by memory (MiB): the task runs beside other shares on a GPU while their
   * shares fit its memory (one GPU only); null or absent: the GPU is the task's alone.
   */
  shareMiB?: number | null;
}

/** What a model pattern may hold: letters, digits, spaces, `.`, `_`, `-` and `*`. */
export const GPU_MODEL_PATTERN = '^[A-Za-z0-9*][A-Za-z0-9 ._*-]{0,63}$';
/** The most model patterns a request may list. */
export const MAX_GPU_MODELS = 8;

/** A name or pattern in words: lowercase, each run of other characters than [a-z0-9*] one space. */
export function normalizeGpuName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9*]+/g, ' ')
    .trim();
}

/** Whether `pattern` matches the GPU named `name` (see the file's comment). */
export function gpuModelMatches(pattern: string, name: string): boolean {
  const words = normalizeGpuName(pattern);
  if (words === '') return false;
  const source = ` ${words.replace(/\*/g, '.*')} `;
  return new RegExp(source).test(` ${normalizeGpuName(name)} `);
}

/** The part of a GPU that a request looks at. */
export interface RequestedGpu {
  name: string;
  memoryMiB: number | null;
}

/**
 * The least memory a GPU needs to satisfy `request`: its minimum, or its share when larger (a
 * GPU smaller than a share can never hold it); null: any.
 */
export function leastGpuMemoryMiB(request: GpuRequest): number | null {
  const share = request.shareMiB ?? null;
  if (share === null) return request.minMemoryMiB;
  return Math.max(share, request.minMemoryMiB ?? 0);
}

/** Whether one GPU satisfies `request` (a GPU whose memory is unknown does not satisfy a minimum). */
export function gpuSatisfies(request: GpuRequest, gpu: RequestedGpu): boolean {
  if (request.models.length > 0 && !request.models.some((p) => gpuModelMatches(p, gpu.name))) return false;
  const least = leastGpuMemoryMiB(request);
  if (least !== null && !(gpu.memoryMiB !== null && gpu.memoryMiB >= least)) return false;
  return true;
}

/** Whether `request` asks anything of a GPU. */
export function isGpuRequest(request: GpuRequest): boolean {
  return request.models.length > 0 || request.minMemoryMiB !== null || (request.shareMiB ?? null) !== null;
}

/**
 * The request as Redis spells it after the GPU count in a wait set's name: '' when it asks
 * nothing, else `~<models>~<MiB>`, the models normalized (spaces as `_`), sorted and joined by
 * `|`, and for a share `~<share MiB>` after it.
 */
export function gpuRequestSuffix(request: GpuRequest): string {
  if (!isGpuRequest(request)) return '';
  const models = [...new Set(request.models.map((m) => normalizeGpuName(m).replace(/ /g, '_')))].sort();
  const share = request.shareMiB ?? null;
  return `~${models.join('|')}~${request.minMemoryMiB ?? ''}${share === null ? '' : `~${share}`}`;
}

/** The request of a suffix (`gpuRequestSuffix`); the empty request for '' or a garbled one. */
export function parseGpuRequestSuffix(suffix: string): GpuRequest {
  const match = /^~([^~]*)~(\d*)(?:~(\d+))?$/.exec(suffix);
  if (!match) return { models: [], minMemoryMiB: null };
  const models = match[1] ? match[1].split('|').map((m) => m.replace(/_/g, ' ')) : [];
  const request: GpuRequest = { models, minMemoryMiB: match[2] ? Number(match[2]) : null };
  return match[3] ? { ...request, shareMiB: Number(match[3]) } : request;
}

/** The request in words for a person: `H100 or A100, ≥ 40960 MiB each`. */
export function describeGpuRequest(request: GpuRequest): string {
  const parts: string[] = [];
  if (request.models.length > 0) parts.push(`model ${request.models.join(' or ')}`);
  if (request.minMemoryMiB !== null) parts.push(`at least ${request.minMemoryMiB} MiB each`);
  if ((request.shareMiB ?? null) !== null) parts.push(`a share of ${request.shareMiB} MiB`);
  return parts.join(', ');
}

/**
 * A tracker's GPUs for take (lua/lib-gpu-request.lua), grouped by model and memory: per group
 * how many there are, how many are free now, when each busy one frees by its task's time limit
 * (ms; omitted when unknown), and the memory (MiB) a share could have on each GPU that takes
 * shares now (a free one: all of it; one shared: what its shares leave). One line per group,
 * `name\tMiB\ttotal\tfree\tt1,t2,...\tr1,r2,...`.
 */
export interface GpuGroup {
  name: string;
  memoryMiB: number | null;
  total: number;
  free: number;
  freeAt: readonly number[];
  /** Omitted: no GPU of the group takes a share now. */
  shareRoom?: readonly number[];
}

export function gpuGroupsArg(groups: readonly GpuGroup[]): string {
  return groups
    .map((g) =>
      [
        normalizeGpuName(g.name),
        g.memoryMiB ?? '',
        g.total,
        g.free,
        g.freeAt.map((t) => Math.round(t)).join(','),
        (g.shareRoom ?? []).map((r) => Math.floor(r)).join(','),
      ].join('\t'),
    )
    .join('\n');
}
