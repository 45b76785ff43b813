/**
 * Builds a Tracker from its configuration: loads the executers (a bad manifest stops start-up
 * with the file, the field and the reason), finds the GPUs (GPUFLEET_GPUS, else nvidia-smi) and
 * opens the artifact store its configuration describes.
 */
import { loadExecuters, openArtifactStore, type Logger } from '@gpufleet/core';
import type { TrackerConfig } from './config.js';
import { detectGpus } from './gpu-detect.js';
import { resolveTaskInit } from './process/task-init.js';
import { Tracker } from './tracker.js';

export async function createTracker(config: TrackerConfig, logger: Logger): Promise<Tracker> {
  const executers = await loadExecuters(config.executerPaths, { allowOptIn: config.allowOptInExecuters });
  for (const skipped of executers.skipped) {
    logger.info(
      { executer: skipped.name, file: skipped.file, reason: skipped.reason },
      'executer not loaded',
    );
  }
  const gpuIds = config.gpus ?? (await detectGpus()).map((gpu) => gpu.index);
  const store = openArtifactStore(config.artifactStoreSettings);
  const taskInit = await resolveTaskInit(config.taskInit, config.workDir, logger);
  return new Tracker({ config, logger, store, executers, gpuIds, taskInit });
}
