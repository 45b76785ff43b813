/**
 * The health check's nvidia-smi query and how its answer is read: `--query-gpu=index,uuid,
 * pci.bus_id,ecc.errors.uncorrected.volatile.total --format=csv,noheader,nounits`, one GPU a line.
 * A GPU the driver can no longer reach (it fell off the bus) gets no row: nvidia-smi prints
 * `Unable to determine the device handle for GPU 0000:3B:00.0: Unknown Error` (or `...: GPU is
 * lost. Reboot the system to recover this GPU`; drivers differ in the spacing and in putting the
 * index before the address) in its place and goes on with the others, so such a line names a lost
 * GPU, whatever the exit code. A value of `[GPU is lost]` marks one too. The ECC count is null
 * where the GPU reports none (`[N/A]`: no ECC, or ECC off). `faultOf` judges one GPU by it.
 */
import { parsePciBusId, samePciDevice, type PciAddress } from './pci-bus-id.js';

/** What the health check asks for, in this order. */
export const HEALTH_FIELDS = [
  'index',
  'uuid',
  'pci.bus_id',
  'ecc.errors.uncorrected.volatile.total',
] as const;

/** A GPU as the answer lists it. */
export interface HealthRow {
  uuid: string | null;
  pci: PciAddress | null;
  /** Uncorrectable ECC errors since the driver loaded; null: not reported. */
  eccUncorrected: number | null;
  /** A value said `[GPU is lost]`. */
  lost: boolean;
}

export interface HealthAnswer {
  rows: HealthRow[];
  /** The GPUs nvidia-smi could not reach, with what it said. */
  unreachable: Array<{ pci: PciAddress; message: string }>;
}

const UNREACHABLE = /Unable to determine the device handle for GPU/i;

/** Reads the answer (stdout and stderr together: drivers differ in where the message goes). */
export function parseHealthAnswer(output: string): HealthAnswer {
  const answer: HealthAnswer = { rows: [], unreachable: [] };
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (UNREACHABLE.test(line)) {
      const pci = parsePciBusId(line.slice(line.search(UNREACHABLE)));
      if (pci) answer.unreachable.push({ pci, message: line });
      continue;
    }
    const columns = line.split(',').map((c) => c.trim());
    if (columns.length !== HEALTH_FIELDS.length) continue;
    const [index, uuid, bus, ecc] = columns as [string, string, string, string];
    if (!/^\d+$/.test(index)) continue;
    const known = (text: string): string | null => (text === '' || /^\[.*\]$/.test(text) ? null : text);
    const count = Number(known(ecc) ?? Number.NaN);
    answer.rows.push({
      uuid: known(uuid),
      pci: parsePciBusId(known(bus)),
      eccUncorrected: Number.isFinite(count) ? count : null,
      lost: columns.some((c) => /^\[GPU is lost\]$/i.test(c)),
    });
  }
  return answer;
}

/**
 * What is wrong with `gpu` by `answer`, or null: unreachable, missing (it fell off the bus), lost,
 * or more uncorrectable ECC errors than at its first answer (`eccAtStart`, by GPU index, kept up
 * to date here: the first count seen, or a lower one after the driver was reloaded).
 */
export function faultOf(
  gpu: { index: number; uuid: string; pci: PciAddress | null },
  answer: HealthAnswer,
  eccAtStart: Map<number, number>,
): string | null {
  const unreachable = answer.unreachable.find((u) => samePciDevice(u.pci, gpu.pci));
  if (unreachable) return `fell off the bus: ${unreachable.message}`;
  const uuid = gpu.uuid.toLowerCase();
  const row = answer.rows.find((r) =>
    r.uuid !== null ? r.uuid.toLowerCase() === uuid : samePciDevice(r.pci, gpu.pci),
  );
  if (!row) return 'fell off the bus: nvidia-smi no longer lists it';
  if (row.lost) return 'fell off the bus: nvidia-smi says it is lost';
  const count = row.eccUncorrected;
  const atStart = eccAtStart.get(gpu.index);
  if (count === null || atStart === undefined || count < atStart) {
    if (count !== null) eccAtStart.set(gpu.index, count);
    return null;
  }
  const more = count - atStart;
  if (more === 0) return null;
  return `${more} uncorrectable ECC error${more === 1 ? '' : 's'} since the tracker started (ecc.errors.uncorrected.volatile.total ${atStart} → ${count})`;
}
