/**
 * A GPU memory size as a person writes it (`40GB`, `80GiB`, `24576MiB`), in MiB, rounded up: what
 * a task's `minGpuMemoryMiB` takes. GB and TB are powers of ten, as GPU makers print them, and
 * MiB, GiB and TiB powers of two, as nvidia-smi reports memory: `80GB` is 76,294 MiB, which an
 * "80GB" H100 (81,559 MiB) satisfies, while `80GiB` (81,920 MiB) it does not. Written here rather
 * than taken from a library because the common ones (`bytes`) read GB as GiB, the very
 * difference that decides whether an H100 qualifies. A number without a unit is refused.
 */
const UNIT_BYTES: Readonly<Record<string, number>> = {
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
};

/** MiB, or null when `text` is not a size with one of the units above. */
export function parseMemorySizeMiB(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$/.exec(text);
  const bytes = match ? UNIT_BYTES[(match[2] ?? '').toLowerCase()] : undefined;
  if (!match || bytes === undefined) return null;
  const mib = Math.ceil((Number(match[1]) * bytes) / 2 ** 20);
  return mib >= 1 && Number.isSafeInteger(mib) ? mib : null;
}
