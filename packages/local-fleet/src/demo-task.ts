/**
 * The local fleet's demo: a small `sph` dam break submitted through the fleet's API (as the
 * `gpufleet` command would), on the tracker's first GPU or its CPU, its status transitions
 * printed until it ends; then its outputs are listed.
 */
import { isFinalStatus, type GpufleetClient, type OutputManifest, type TaskView } from '@gpufleet/api-client';

export interface DemoOptions {
  client: GpufleetClient;
  gpus: number;
  print: (line: string) => void;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface DemoResult {
  task: TaskView;
  outputs: OutputManifest | null;
}

export async function runDemoTask(options: DemoOptions): Promise<DemoResult> {
  const { client, print } = options;
  const task = await client.submit(
    { executer: 'sph', gpus: options.gpus, params: { particles: 800, outputEvery: 200 } },
    { signal: options.signal },
  );
  print(
    `demo: submitted sph dam break as task ${task.id} (${options.gpus > 0 ? `${options.gpus} GPU` : 'CPU'})`,
  );
  for await (const event of task.events({ signal: options.signal })) {
    if (event.type === 'status' && !isFinalStatus(event.status)) {
      print(`demo: ${event.status}${event.reason ? ` (${event.reason})` : ''}`);
    }
  }
  const done = await task.wait({ timeoutMs: options.timeoutMs ?? 300_000, signal: options.signal });
  const outputs = done.outputs ? await task.outputs({ signal: options.signal }) : null;
  return { task: done, outputs };
}
