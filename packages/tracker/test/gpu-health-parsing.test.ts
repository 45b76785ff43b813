// What the GPU health check reads, as pure functions: Xid lines of the kernel log in the forms
// syslog, journald and dmesg give them (only the Xids of a broken GPU drain it; Xid 154 unless the
// driver asks for no action), nvidia-smi's health answer with the device-handle messages different
// drivers print for a GPU they cannot reach, and the judgement of one GPU by it (gone, lost, more
// uncorrectable ECC errors than at the first answer, a count that restarted with the driver).
import { describe, expect, it } from 'vitest';
import { faultOf, parseHealthAnswer } from '../src/gpu/gpu-health-query.js';
import { parsePciBusId, samePciDevice } from '../src/gpu/pci-bus-id.js';
import { brokenGpuReason, parseXidLine } from '../src/gpu/xid-errors.js';

const BUS_3B = parsePciBusId('00000000:3B:00.0');

describe('PCI addresses', () => {
  it('are the same device whatever the domain width, the case or a missing function', () => {
    expect(samePciDevice(BUS_3B, parsePciBusId('0000:3b:00'))).toBe(true);
    expect(samePciDevice(BUS_3B, parsePciBusId('GPU0000:3B:00.0: Unknown Error'))).toBe(true);
    expect(samePciDevice(BUS_3B, parsePciBusId('0000:3b:00.1'))).toBe(false);
    expect(samePciDevice(BUS_3B, parsePciBusId('0001:3b:00'))).toBe(false);
    expect(samePciDevice(BUS_3B, parsePciBusId('0000:3c:00'))).toBe(false);
    expect(samePciDevice(BUS_3B, null)).toBe(false);
  });
});

describe('Xid lines', () => {
  it('are found in syslog, journald and dmesg lines, and drain a GPU only for a GPU fault', () => {
    const syslog = parseXidLine(
      'May 18 19:02:39 gpu-7 kernel: NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python, GPU has fallen off the bus.',
    );
    expect(syslog).toEqual({
      pci: { domain: 0, bus: 0x3b, device: 0, fn: null },
      xid: 79,
      detail: 'pid=1234, name=python, GPU has fallen off the bus.',
    });
    expect(syslog && brokenGpuReason(syslog)).toBe(
      'Xid 79 (the GPU has fallen off the bus): pid=1234, name=python, GPU has fallen off the bus.',
    );
    const dmesg = parseXidLine('[ 269.517039] NVRM: Xid (0000:01:00): 48, pid=77, DBE (0x1) detected');
    expect(dmesg && [dmesg.xid, samePciDevice(dmesg.pci, parsePciBusId('00000000:01:00.0'))]).toEqual([
      48,
      true,
    ]);
    expect(dmesg && brokenGpuReason(dmesg)).toMatch(/^Xid 48 \(double-bit ECC error/);
    for (const xid of [13, 31, 43, 45]) {
      const app = parseXidLine(`kernel: NVRM: Xid (PCI:0000:3b:00): ${xid}, pid=9, name=python, ...`);
      expect(app && brokenGpuReason(app)).toBeNull();
    }
    expect(parseXidLine('kernel: NVRM: GPU at PCI:0000:3b:00: GPU-5c3a0000')).toBeNull();
    expect(parseXidLine('kernel: usb 1-1: new high-speed USB device')).toBeNull();
  });

  it('drain for Xid 154 unless the driver asks for no recovery action', () => {
    const reset = parseXidLine(
      'NVRM: Xid (PCI:0000:3b:00): 154, GPU recovery action changed from 0x0 (None) to 0x1 (GPU Reset Required)',
    );
    expect(reset && brokenGpuReason(reset)).toMatch(/^Xid 154 /);
    const none = parseXidLine(
      'NVRM: Xid (PCI:0000:3b:00): 154, GPU recovery action changed from 0x1 (GPU Reset Required) to 0x0 (None)',
    );
    expect(none && brokenGpuReason(none)).toBeNull();
  });
});

describe('the health answer', () => {
  const GPU = { index: 0, uuid: 'GPU-aaaa', pci: BUS_3B };

  it('names the GPUs nvidia-smi cannot reach, in each driver’s wording, and reads the rest', () => {
    const answer = parseHealthAnswer(
      [
        '0, GPU-aaaa, 00000000:3B:00.0, 0',
        'Unable to determine the device handle for GPU0000:5E:00.0: Unknown Error',
        'Unable to determine the device handle for GPU1: 0000:86:00.0: Unknown Error',
        'Unable to determine the device handle for GPU 0000:AF:00.0: GPU is lost.  Reboot the system to recover this GPU',
        '4, [GPU is lost], 00000000:D8:00.0, [GPU is lost]',
        '5, GPU-ffff, 00000000:DB:00.0, [N/A]',
        '',
      ].join('\n'),
    );
    expect(answer.unreachable.map((u) => u.pci.bus)).toEqual([0x5e, 0x86, 0xaf]);
    expect(answer.rows).toEqual([
      { uuid: 'GPU-aaaa', pci: BUS_3B, eccUncorrected: 0, lost: false },
      { uuid: null, pci: parsePciBusId('00000000:D8:00.0'), eccUncorrected: null, lost: true },
      { uuid: 'GPU-ffff', pci: parsePciBusId('00000000:DB:00.0'), eccUncorrected: null, lost: false },
    ]);
    const judge = (bus: string) =>
      faultOf({ index: 1, uuid: 'GPU-other', pci: parsePciBusId(bus) }, answer, new Map());
    expect(judge('00000000:86:00.0')).toBe(
      'fell off the bus: Unable to determine the device handle for GPU1: 0000:86:00.0: Unknown Error',
    );
    expect(judge('00000000:D8:00.0')).toBe('fell off the bus: nvidia-smi says it is lost');
    expect(judge('00000000:12:00.0')).toBe('fell off the bus: nvidia-smi no longer lists it');
    expect(faultOf(GPU, answer, new Map())).toBeNull();
  });

  it('counts uncorrectable ECC errors from the first answer, and from a count that restarted', () => {
    const at = (count: string) => parseHealthAnswer(`0, GPU-AAAA, 00000000:3B:00.0, ${count}\n`);
    const start = new Map<number, number>();
    expect(faultOf(GPU, at('[N/A]'), start)).toBeNull();
    expect(faultOf(GPU, at('4'), start)).toBeNull();
    expect(faultOf(GPU, at('4'), start)).toBeNull();
    expect(faultOf(GPU, at('1'), start)).toBeNull(); // the driver was reloaded
    expect(faultOf(GPU, at('2'), start)).toBe(
      '1 uncorrectable ECC error since the tracker started (ecc.errors.uncorrected.volatile.total 1 → 2)',
    );
  });
});
