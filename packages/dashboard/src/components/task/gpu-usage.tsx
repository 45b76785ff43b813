/**
 * How the task used its GPUs, once an attempt of it has ended and its tracker sampled them: the
 * peak memory (all its GPUs together) and the mean utilisation, as a meter. A CPU task has none.
 */
import type { TaskView } from '@gpufleet/api-client';
import { mib } from '../../format.js';

export function GpuUsage({ task }: { task: TaskView }) {
  if (task.gpus === 0) return null;
  const util = task.gpuMeanUtilizationPercent;
  const peak = task.gpuPeakMemoryMiB;
  return (
    <section class="panel" aria-labelledby="gpu-usage-title">
      <h2 id="gpu-usage-title">GPU usage</h2>
      {util === null && peak === null ? (
        <p class="muted small">Known once an attempt has ended, when its tracker sampled its GPUs.</p>
      ) : (
        <dl class="facts">
          {peak !== null && (
            <div>
              <dt>Peak memory</dt>
              <dd>
                {peak === 0 ? '0 MiB' : mib(peak)}
                {task.gpus > 1 && <span class="muted small"> over its {task.gpus} GPUs</span>}
              </dd>
            </div>
          )}
          {util !== null && (
            <div>
              <dt>Mean utilisation</dt>
              <dd>
                <div
                  class="bar"
                  role="meter"
                  aria-label="Mean GPU utilisation"
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-valuenow={Math.round(util)}
                  aria-valuetext={`${util} %`}
                >
                  <span style={{ width: `${Math.max(0, Math.min(100, util))}%` }} />
                  <small>{util} %</small>
                </div>
              </dd>
            </div>
          )}
        </dl>
      )}
    </section>
  );
}
