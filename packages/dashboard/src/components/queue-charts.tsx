/**
 * A queue's last hour as three charts (components/chart.tsx): tasks that ended per minute
 * (succeeded, otherwise), how long the tasks that started had waited (mean, 90th percentile), and
 * the GPUs its tasks held (mean and highest of the minute's samples) beside its trackers' GPUs.
 */
import { useMemo } from 'preact/hooks';
import type { QueueHistory } from '@gpufleet/api-client';
import { Chart } from './chart.js';

const seconds = (ms: number | null): number | null => (ms === null ? null : Math.round(ms / 100) / 10);

export function QueueCharts({ history }: { history: QueueHistory }) {
  const m = history.minutes;
  const times = useMemo(() => m.map((x) => x.at), [history]);
  const ended = useMemo(
    () => [
      { label: 'succeeded', color: '#1e7f4f', values: m.map((x) => x.succeeded), bars: true },
      { label: 'failed or stopped', color: '#b3261e', values: m.map((x) => x.failed), bars: true },
    ],
    [history],
  );
  const waits = useMemo(
    () => [
      { label: 'mean', color: '#2f5fd0', values: m.map((x) => seconds(x.waitMeanMs)) },
      {
        label: '90th percentile',
        color: '#8a5a00',
        values: m.map((x) => seconds(x.waitP90Ms)),
        dash: [6, 4],
      },
    ],
    [history],
  );
  const gpus = useMemo(
    () => [
      { label: 'busy (mean)', color: '#2f5fd0', values: m.map((x) => x.gpusBusyMean) },
      { label: 'busy (most)', color: '#7e57c2', values: m.map((x) => x.gpusBusyMax), dash: [4, 3] },
      { label: 'trackers’ GPUs', color: '#5d6778', values: m.map((x) => x.gpusTotal), dash: [2, 4] },
    ],
    [history],
  );
  return (
    <div class="charts">
      <Chart title="Tasks ended per minute" times={times} series={ended} unit="" />
      <Chart title="Wait before start" times={times} series={waits} unit="s" />
      <Chart title="GPUs busy" times={times} series={gpus} unit="" />
    </div>
  );
}
