/**
 * What the sph executer writes (summary.json, frames, final-frame.png) and the physics a dam break
 * must show, as reusable checks: no fluid lost or through a wall, volume and density nearly constant
 * (weak compressibility), the column collapses and its front runs out, no energy is created.
 */
import { inflateSync } from 'node:zlib';
import { expect } from 'vitest';

export interface SphFrame {
  file: string;
  step: number;
  time: number;
  front: number;
  columnHeight: number;
  kinetic: number;
  potential: number;
  volume: number;
  rhoMin: number;
  rhoMax: number;
  fluidInside: number;
  escaped: number;
}

export interface SphSummary {
  device: { kind: 'cpu' | 'cuda'; name: string };
  particles: { fluid: number; wall: number; total: number };
  parameters: { particles: number; steps: number; outputEvery: number; format: 'csv' | 'vtk' };
  numerics: {
    dx: number;
    h: number;
    dt: number;
    c0: number;
    rho0: number;
    gravity: number;
    particleMass: number;
  };
  geometry: { columnWidth: number; columnHeight: number; tankWidth: number; wallTop: number };
  stepsDone: number;
  simulatedTime: number;
  dimensionlessTime: number;
  timing: { totalMs: number; stepsMs: number; msPerStep: number };
  mass: { initial: number; final: number };
  finite: boolean;
  frames: SphFrame[];
  plot?: {
    file: string;
    width: number;
    height: number;
    bounds: { x0: number; x1: number; y0: number; y1: number };
  };
  build?: { backend: 'cpu' | 'cuda'; reason: string; cached: boolean; compileMs: number; binary: string };
}

/** Relative tolerances of the physics checks; see the executer README for where they come from. */
export const TOLERANCE = {
  /** Fluid volume sum(m/rho) may drift this much (weakly compressible: Mach ~0.2). */
  volume: 0.01,
  /** Density stays within rho0 (1 ± this). */
  density: 0.03,
  /** Kinetic + potential energy may exceed its start by this (the hydrostatic pre-compression). */
  energyGain: 0.005,
};

/**
 * The dam-break checks on a summary whose run reached dimensionless time T = t sqrt(2g/a) ≈ 2.6.
 * `a` is the column width; the column starts a wide and 2a high.
 */
export function expectDamBreakPhysics(s: SphSummary): void {
  const { columnWidth: a, columnHeight } = s.geometry;
  const { dx, rho0, particleMass } = s.numerics;
  const first = s.frames[0] as SphFrame;
  const last = s.frames.at(-1) as SphFrame;
  expect(s.finite).toBe(true);
  expect(s.frames.length).toBeGreaterThanOrEqual(3);
  expect(s.dimensionlessTime).toBeCloseTo(2.6, 2);
  expect(first.front).toBeCloseTo(a, 9);
  expect(first.columnHeight).toBeCloseTo(columnHeight, 9);

  // Mass: every fluid particle is still in the tank (none lost, none through a wall).
  expect(s.mass.final).toBe(s.mass.initial);
  expect(s.mass.initial).toBeCloseTo(s.particles.fluid * particleMass, 9);
  for (const f of s.frames) {
    expect(f.escaped, `fluid outside the tank at step ${f.step}`).toBe(0);
    expect(f.fluidInside).toBe(s.particles.fluid);
    expect(Math.abs(f.volume - first.volume) / first.volume, `volume at step ${f.step}`).toBeLessThan(
      TOLERANCE.volume,
    );
    expect(f.rhoMin).toBeGreaterThan(rho0 * (1 - TOLERANCE.density));
    expect(f.rhoMax).toBeLessThan(rho0 * (1 + TOLERANCE.density));
  }

  // The column collapses: the front runs out along the bed, the water at the wall drops.
  s.frames.slice(1).forEach((f, i) => {
    const before = s.frames[i] as SphFrame;
    expect(f.front, `front at step ${f.step}`).toBeGreaterThanOrEqual(before.front - 0.5 * dx);
    expect(f.columnHeight, `column at step ${f.step}`).toBeLessThanOrEqual(before.columnHeight + 0.5 * dx);
  });
  const T = s.dimensionlessTime;
  expect(last.front / a).toBeGreaterThan(2.5); // the surge ran out over 1.5 column widths
  expect(last.front / a).toBeLessThan(1 + 2 * T); // Ritter's dry-bed front speed 2 sqrt(g H0) bounds it
  expect(last.columnHeight / columnHeight).toBeLessThan(0.65);

  // Energy: potential energy turns into motion; nothing creates energy.
  const e0 = first.kinetic + first.potential;
  for (const f of s.frames) {
    expect(f.kinetic + f.potential, `energy at step ${f.step}`).toBeLessThan(e0 * (1 + TOLERANCE.energyGain));
  }
  const released = first.potential - last.potential;
  expect(last.potential).toBeLessThan(0.6 * first.potential);
  expect(last.kinetic).toBeGreaterThan(0.5 * released);
  expect(last.kinetic + last.potential).toBeLessThan(e0);
}

/** Rows of a CSV frame: [id, type, x, y, vx, vy, rho, p]. */
export function parseCsvFrame(text: string): Array<{ type: string; x: number; y: number; rho: number }> {
  const [header, ...rows] = text.trim().split('\n');
  expect(header).toBe('id,type,x,y,vx,vy,rho,p');
  return rows.map((row) => {
    const cells = row.split(',');
    return { type: cells[1] ?? '', x: Number(cells[2]), y: Number(cells[3]), rho: Number(cells[6]) };
  });
}

/** Decodes the PNGs the sph launcher writes (8-bit RGB, filter 0): { width, height, pixel(x, y) }. */
export function decodePng(png: Buffer): {
  width: number;
  height: number;
  pixel(x: number, y: number): [number, number, number];
} {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([...data.subarray(8, 13)]).toEqual([8, 2, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  expect(raw.length).toBe((width * 3 + 1) * height);
  const filters = new Set<number>();
  for (let y = 0; y < height; y++) filters.add(raw[y * (width * 3 + 1)] ?? -1);
  expect([...filters]).toEqual([0]);
  return {
    width,
    height,
    pixel(x, y) {
      const o = y * (width * 3 + 1) + 1 + x * 3;
      return [raw[o] ?? 0, raw[o + 1] ?? 0, raw[o + 2] ?? 0];
    },
  };
}

/** Counts fluid-coloured pixels (neither white background nor grey wall) in a box given in metres. */
export function fluidPixelsIn(
  image: ReturnType<typeof decodePng>,
  bounds: { x0: number; x1: number; y0: number; y1: number },
  box: { x0: number; x1: number; y0: number; y1: number },
): number {
  const sx = image.width / (bounds.x1 - bounds.x0);
  let count = 0;
  const px0 = Math.max(0, Math.floor((box.x0 - bounds.x0) * sx));
  const px1 = Math.min(image.width - 1, Math.ceil((box.x1 - bounds.x0) * sx));
  const py0 = Math.max(0, Math.floor((bounds.y1 - box.y1) * sx));
  const py1 = Math.min(image.height - 1, Math.ceil((bounds.y1 - box.y0) * sx));
  for (let y = py0; y <= py1; y++) {
    for (let x = px0; x <= px1; x++) {
      const [r, g, b] = image.pixel(x, y);
      if (!(r === g && g === b)) count++;
    }
  }
  return count;
}
