/**
 * Why a queued task waits, in words (the API's `waitReason`, SLURM's terms: docs/api.md).
 */
import type { TaskView, WaitReason } from '@gpufleet/api-client';

const resources = (task: TaskView): string =>
  task.gpus === 0
    ? 'a free CPU slot'
    : task.gpus === 1
      ? 'a free GPU'
      : `${task.gpus} free GPUs on one tracker`;

/** One sentence for `task.waitReason`. */
export function waitReasonText(reason: WaitReason, task: TaskView): string {
  switch (reason) {
    case 'Dependency':
      return `It was submitted to run after task ${task.after ?? '(unknown)'}: it goes in line when that one ends.`;
    case 'BeginTime':
      return 'It failed and waits out its retry backoff; then it goes back in line.';
    case 'Quota':
      return 'Your tenant’s running tasks hold as many GPUs in this queue as its quota allows: it starts when some of them end.';
    case 'Unschedulable':
      return `No live tracker of queue ${task.queue} can run it (${task.gpus} GPUs${task.gpuModels.length > 0 ? `, ${task.gpuModels.join(' or ')}` : ''}${task.minGpuMemoryMiB !== null ? ', its GPU memory' : ''}): it ends dead if none joins in time.`;
    case 'Preemption':
      return 'It is first in line: a tracker is stopping preemptible tasks of lower priority to make room for it.';
    case 'Reservation':
      return `It is first in line and a tracker’s ${task.gpus === 0 ? 'CPU slot is' : 'GPUs are'} reserved for it: that tracker starts other tasks only if their time limits end them in time.`;
    case 'Resources':
      return `It is first in line and waits for ${resources(task)}.`;
    case 'Priority':
      return 'Tasks of a higher priority, or older ones of its priority, go before it.';
    case 'FairShare':
      return 'Tasks of its priority from tenants that used less GPU time lately go before it (fair share).';
  }
}

/** `next in line`, `1 task before it`, `12 tasks before it`. */
export function queuePositionText(position: number): string {
  if (position === 0) return 'next in line';
  return `${position} ${position === 1 ? 'task' : 'tasks'} before it`;
}
