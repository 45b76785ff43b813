/** How the pages write times, durations and sizes. */

/** `3 s`, `4 min 12 s`, `2 h 5 min`, `3 d 4 h`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  return `${Math.floor(h / 24)} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** How long ago ISO time `iso` was, from `now` (ms): `12 s ago`. */
export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return '–';
  return `${duration(now - Date.parse(iso))} ago`;
}

/** `512 B`, `3.4 KiB`, `81.6 GiB` (binary units, as nvidia-smi's MiB). */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** MiB as nvidia-smi gives them, in GiB past 1 GiB: `80 GiB`, `512 MiB`. */
export const mib = (n: number): string => bytes(n * 1024 * 1024);

/** A local date and time, to the second: `2026-12-05 13:04:11`. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
