/**
 * For the service-task tests: the folder of the service fixtures (fixtures/services) and a finder
 * of port ranges the tracker can give out now.
 */
import { fileURLToPath } from 'node:url';
import { portProblem } from '../../src/service/port-pool.js';
import type { PortRange } from '../../src/service/service-config.js';

/** The service fixtures' folder, for a tracker's executer paths. */
export const SERVICES = fileURLToPath(new URL('../fixtures/services', import.meta.url));

/** `size` consecutive ports below the ephemeral range that can all be bound now. */
export async function freeRange(size: number): Promise<PortRange> {
  for (;;) {
    const low = 22_000 + Math.floor(Math.random() * 10_000);
    const ports = Array.from({ length: size }, (_, i) => low + i);
    if ((await Promise.all(ports.map(portProblem))).every((p) => p === null))
      return { low, high: low + size - 1 };
  }
}
