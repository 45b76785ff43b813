/**
 * Xid errors: the faults the NVIDIA driver reports in the kernel log (`dmesg`, `journalctl -k`,
 * /var/log/kern.log), one line each, naming the GPU by its PCI address:
 * `NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python, GPU has fallen off the bus.`
 * nvidia-smi's query interface does not report them, so the tracker reads the log the operator
 * names (GPUFLEET_XID_LOG, gpu-health.ts).
 *
 * Which Xids drain a GPU. NVIDIA's Xid documentation (the "Xid Errors" guide and its Xid catalog,
 * whose "immediate action" is RESTART_APP, RESET_GPU or RESTART_BM) sorts them into faults of the
 * application (a bad pointer, an illegal instruction: the next task on that GPU is fine) and faults
 * of the GPU, after which nothing should run on it until it is reset or the machine rebooted. Only
 * the second kind drains: BROKEN_GPU_XIDS lists each with why. Every other Xid (13 graphics engine
 * exception, 31 memory page fault, 43 GPU stopped processing, 45 preemptive cleanup...) is the
 * application's doing or the echo of another Xid, and is logged only.
 */
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { parsePciBusId, type PciAddress } from './pci-bus-id.js';

/** The Xids after which a GPU takes no task until an operator resets it, and why. */
export const BROKEN_GPU_XIDS: ReadonlyMap<number, string> = new Map([
  [48, 'double-bit ECC error: memory returned data it could not correct'],
  [62, 'internal micro-controller halt: the GPU must be reset'],
  [63, 'ECC page retirement or row remapping recorded: the GPU must be reset to apply it'],
  [64, 'ECC page retirement or row remapping failed: the memory cannot be repaired in place'],
  [74, 'NVLink error: a link of the GPU failed'],
  [79, 'the GPU has fallen off the bus'],
  [92, 'high single-bit ECC error rate: the memory is failing'],
  [94, 'contained ECC error: the GPU must be reset to remap the failed row'],
  [95, 'uncontained ECC error: every application on the GPU was hit; it must be reset'],
  [119, 'GSP RPC timeout: the GPU System Processor stopped answering; the GPU must be reset'],
  [120, 'GSP error: the GPU System Processor failed; the GPU must be reset'],
  [154, 'the driver asks for a recovery action (reset, reboot or drain)'],
]);

/** One Xid line of the kernel log. */
export interface XidEvent {
  /** The GPU's PCI address as the line names it (no function: `0000:3b:00`). */
  pci: PciAddress;
  xid: number;
  /** What follows the number: `pid=1234, name=python, GPU has fallen off the bus.` */
  detail: string;
}

const XID_LINE =
  /NVRM: Xid \((?:PCI:)?([0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}(?:\.[0-7])?)\):\s*(\d+)\s*,?\s*(.*)$/i;

/** The Xid a kernel log line reports (whatever prefix syslog or dmesg put before it), or null. */
export function parseXidLine(line: string): XidEvent | null {
  const match = XID_LINE.exec(line);
  const pci = parsePciBusId(match?.[1]);
  if (!match || !pci) return null;
  return { pci, xid: Number(match[2]), detail: (match[3] ?? '').trim() };
}

/**
 * Why `event` means the GPU is broken, or null when it does not (the application's fault, logged
 * only). Xid 154 says which recovery action the GPU needs now: a change to none drains nothing.
 */
export function brokenGpuReason(event: XidEvent): string | null {
  const why = BROKEN_GPU_XIDS.get(event.xid);
  if (why === undefined) return null;
  if (event.xid === 154 && /\bto\s+0x0\b|\(none\)\W*$/i.test(event.detail)) return null;
  const detail = event.detail.slice(0, 200);
  return `Xid ${event.xid} (${why})${detail ? `: ${detail}` : ''}`;
}

/** Why GPUFLEET_XID_LOG's value cannot be a log to follow, or null (config.ts). */
export function xidLogProblem(path: string): string | null {
  if (!isAbsolute(path)) return 'must be an absolute path to the kernel log (/var/log/kern.log)';
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory())
    return 'is a folder: name the kernel log file itself (/var/log/kern.log)';
  return null;
}
