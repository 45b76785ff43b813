// Draws one sph frame as a PNG: walls grey, fluid particles coloured by speed (blue slow, red fast),
// on a white background with the y axis pointing up. Reads the frame files sph writes (CSV or VTK).
import { encodePng } from './png.mjs';

/** { x, y, vx, vy, wall } arrays from a frame file's text. */
export function parseFrame(text, format) {
  const frame = { x: [], y: [], vx: [], vy: [], wall: [] };
  if (format === 'csv') {
    for (const line of text.split('\n').slice(1)) {
      if (line === '') continue;
      const [, type, x, y, vx, vy] = line.split(',');
      frame.x.push(Number(x));
      frame.y.push(Number(y));
      frame.vx.push(Number(vx));
      frame.vy.push(Number(vy));
      frame.wall.push(type === 'wall');
    }
    return frame;
  }
  const lines = text.split('\n');
  const section = (title) => {
    const at = lines.findIndex((l) => l.startsWith(title));
    if (at < 0) throw new Error(`VTK frame has no ${title} section`);
    return at + 1;
  };
  const n = Number(lines[section('POINTS') - 1].split(' ')[1]);
  const points = section('POINTS');
  const types = section('SCALARS type') + 1; // after LOOKUP_TABLE
  const velocity = section('VECTORS velocity');
  for (let i = 0; i < n; i++) {
    const [x, y] = lines[points + i].split(' ').map(Number);
    const [vx, vy] = lines[velocity + i].split(' ').map(Number);
    frame.x.push(x);
    frame.y.push(y);
    frame.vx.push(vx);
    frame.vy.push(vy);
    frame.wall.push(lines[types + i].trim() === '1');
  }
  return frame;
}

/** Blue → cyan → yellow → red for t in [0, 1]. */
function colour(t) {
  const stops = [
    [40, 70, 200],
    [40, 200, 220],
    [250, 220, 40],
    [220, 40, 30],
  ];
  const s = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
  const i = Math.min(Math.floor(s), stops.length - 2);
  const f = s - i;
  return stops[i].map((c, k) => Math.round(c + (stops[i + 1][k] - c) * f));
}

/** The box around all finite particle positions, with a margin. */
function extent(frame, margin) {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < frame.x.length; i++) {
    if (!Number.isFinite(frame.x[i]) || !Number.isFinite(frame.y[i])) continue;
    [x0, x1] = [Math.min(x0, frame.x[i] - margin), Math.max(x1, frame.x[i] + margin)];
    [y0, y1] = [Math.min(y0, frame.y[i] - margin), Math.max(y1, frame.y[i] + margin)];
  }
  if (!(x1 > x0 && y1 > y0)) throw new Error('the frame holds no finite particle position');
  return { x0, x1, y0, y1 };
}

/**
 * Renders the frame into an RGB image `width` pixels wide showing `bounds` (metres; default: all
 * particles); the height follows the aspect ratio. `spacing` is the particle spacing (m), which sets
 * the dot size. Returns { width, height, png, bounds }.
 */
export function plotFrame(frame, { spacing, bounds, width = 800 }) {
  const { x0, x1, y0, y1 } = bounds ?? extent(frame, 2 * spacing);
  const scale = width / (x1 - x0);
  const height = Math.max(1, Math.round((y1 - y0) * scale));
  const rgb = Buffer.alloc(width * height * 3, 255);
  const radius = Math.max(1, Math.round(0.5 * spacing * scale));
  let maxSpeed = 1e-9;
  for (let i = 0; i < frame.x.length; i++) {
    if (!frame.wall[i]) maxSpeed = Math.max(maxSpeed, Math.hypot(frame.vx[i], frame.vy[i]));
  }
  for (let i = 0; i < frame.x.length; i++) {
    if (!Number.isFinite(frame.x[i]) || !Number.isFinite(frame.y[i])) continue;
    const cx = Math.round((frame.x[i] - x0) * scale);
    const cy = Math.round((y1 - frame.y[i]) * scale);
    const c = frame.wall[i] ? [150, 150, 150] : colour(Math.hypot(frame.vx[i], frame.vy[i]) / maxSpeed);
    for (let dy = -radius; dy <= radius; dy++) {
      for (let dx = -radius; dx <= radius; dx++) {
        const px = cx + dx;
        const py = cy + dy;
        if (dx * dx + dy * dy > radius * radius || px < 0 || py < 0 || px >= width || py >= height) continue;
        rgb.set(c, (py * width + px) * 3);
      }
    }
  }
  return { width, height, png: encodePng(width, height, rgb), bounds: { x0, x1, y0, y1 } };
}
