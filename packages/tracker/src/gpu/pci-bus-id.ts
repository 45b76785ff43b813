/**
 * PCI addresses as the NVIDIA tools write them, which do not agree on a form: nvidia-smi's
 * `pci.bus_id` is `00000000:3B:00.0` (an 8-digit domain, upper case, the function), its "Unable to
 * determine the device handle" message says `0000:3b:00.0` or `GPU0000:3B:00.0`, and the kernel's
 * Xid lines `PCI:0000:3b:00` (a 4-digit domain, no function). Each is read into numbers, and two
 * addresses are the same device when domain, bus and device agree (and the functions, where both
 * name one): a GPU is function 0 of its device.
 *
 * @example
 * samePciDevice(parsePciBusId('00000000:3B:00.0'), parsePciBusId('0000:3b:00')); // true
 */

export interface PciAddress {
  domain: number;
  bus: number;
  device: number;
  /** null: the text named none (the Xid lines). */
  fn: number | null;
}

/** `domain:bus:device[.function]` in hex, found anywhere in `text` (the first one); null if none. */
export function parsePciBusId(text: string | null | undefined): PciAddress | null {
  const match = /([0-9a-f]{4,8}):([0-9a-f]{2}):([0-9a-f]{2})(?:\.([0-7]))?/i.exec(text ?? '');
  if (!match) return null;
  const [, domain, bus, device, fn] = match;
  return {
    domain: Number.parseInt(domain ?? '', 16),
    bus: Number.parseInt(bus ?? '', 16),
    device: Number.parseInt(device ?? '', 16),
    fn: fn === undefined ? null : Number(fn),
  };
}

/** Whether `a` and `b` name the same PCI device (false when either is unknown). */
export function samePciDevice(a: PciAddress | null, b: PciAddress | null): boolean {
  if (!a || !b) return false;
  if (a.domain !== b.domain || a.bus !== b.bus || a.device !== b.device) return false;
  return a.fn === null || b.fn === null || a.fn === b.fn;
}
