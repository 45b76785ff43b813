/**
 * One GPU of the fleet grid: its index and model, what runs on it or why nothing may, and its
 * utilisation and memory in use when sampled (bars, with the numbers written out for screen readers).
 */
import type { TrackerView } from '@gpufleet/api-client';
import { mib } from '../format.js';
import { href } from '../router.js';

type Gpu = TrackerView['gpus'][number];

/** `NVIDIA H100 80GB HBM3` → `H100 80GB HBM3`. */
const model = (name: string): string => name.replace(/^NVIDIA\s+/i, '');

function Bar({ label, percent, text }: { label: string; percent: number; text: string }) {
  const clamped = Math.max(0, Math.min(100, percent));
  return (
    <div
      class="bar"
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(clamped)}
      aria-valuetext={text}
    >
      <span style={{ width: `${clamped}%` }} />
      <small>
        {label} {text}
      </small>
    </div>
  );
}

export function GpuCell({ gpu }: { gpu: Gpu }) {
  const state = gpu.taskId !== null || gpu.othersTask ? 'running' : gpu.hold ? gpu.hold.kind : 'free';
  const usage = gpu.usage;
  const total = gpu.device?.memoryMiB ?? null;
  return (
    <li class={`gpu ${state}`} aria-label={`GPU ${gpu.id}: ${state}`} data-gpu={gpu.id}>
      <div class="gpu-head">
        <strong>GPU {gpu.id}</strong>
        <span class="muted small">
          {gpu.device ? model(gpu.device.name) : 'unknown model'}
          {total !== null ? ` · ${mib(total)}` : ''}
        </span>
      </div>
      <div class="gpu-what">
        {gpu.taskId !== null ? (
          <>
            <a class="mono" href={href('task', { id: gpu.taskId })}>
              {gpu.taskId}
            </a>
            {gpu.tenant && <div class="tenant">tenant {gpu.tenant}</div>}
          </>
        ) : gpu.othersTask ? (
          <span class="muted">another tenant’s task</span>
        ) : gpu.hold ? (
          <span title={gpu.hold.reason}>
            <span class="badge warn">{gpu.hold.kind}</span> {gpu.hold.reason}
          </span>
        ) : (
          <span class="muted">free</span>
        )}
      </div>
      {usage && (
        <div class="gpu-usage">
          {usage.utilizationPercent !== null && (
            <Bar
              label="util"
              percent={usage.utilizationPercent}
              text={`${Math.round(usage.utilizationPercent)} %`}
            />
          )}
          {usage.memoryUsedMiB !== null && total !== null && (
            <Bar
              label="mem"
              percent={(100 * usage.memoryUsedMiB) / total}
              text={`${mib(usage.memoryUsedMiB)} of ${mib(total)}`}
            />
          )}
          {usage.temperatureC !== null && (
            <small class="muted">
              {Math.round(usage.temperatureC)} °C
              {usage.powerW !== null ? ` · ${Math.round(usage.powerW)} W` : ''}
            </small>
          )}
        </div>
      )}
    </li>
  );
}
