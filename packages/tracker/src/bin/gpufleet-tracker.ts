#!/usr/bin/env node
/**
 * gpufleet-tracker: the tracker daemon. Reads `.env` and the environment (see README: Tracker
 * configuration), starts, and runs until SIGTERM/SIGINT: the first signal shuts down gracefully
 * (running tasks get GPUFLEET_SHUTDOWN_GRACE_MS), a second one kills running tasks at once.
 * SIGUSR1 (SLURM's time-limit warning, `--signal=B:USR1@secs`) shuts down the same way with
 * GPUFLEET_WARNING_GRACE_MS for the running tasks; with GPUFLEET_IDLE_EXIT_MS the tracker also
 * stops once it has run nothing for that long (a pilot job gives its node back).
 * Exit codes: 0 clean stop, 1 could not start (bad configuration, name taken...), 2 forced stop.
 */
import { config as loadDotenv } from 'dotenv';
import { ConfigError, createLogger, GpufleetError, type Logger } from '@gpufleet/core';
import { loadTrackerConfig } from '../config.js';
import { createTracker } from '../create-tracker.js';
import { eventField } from '../tracker-events.js';
import { watchIdleExit } from '../idle-exit.js';

loadDotenv({ quiet: true });

/** Prints every bad setting, naming its variable; exit code 1. */
function reportConfigError(error: unknown): number {
  if (!(error instanceof ConfigError)) throw error;
  const lines = error.issues.map((i) => `  ${i.field}: ${i.reason}`).join('\n');
  process.stderr.write(`gpufleet-tracker: invalid configuration\n${lines}\n`);
  return 1;
}

/** Reports why the tracker could not start (a bad setting, or the cause logged); exit code 1. */
function reportStartError(error: unknown, logger: Logger): number {
  if (error instanceof ConfigError) return reportConfigError(error);
  logger.fatal(
    { err: error, code: error instanceof GpufleetError ? error.code : undefined },
    'tracker could not start',
  );
  return 1;
}

async function main(): Promise<number> {
  let config;
  try {
    config = loadTrackerConfig();
  } catch (error) {
    return reportConfigError(error);
  }
  const logger = createLogger({ level: config.logLevel, name: 'gpufleet-tracker' });
  let tracker;
  try {
    tracker = await createTracker(config, logger);
  } catch (error) {
    return reportStartError(error, logger);
  }
  const started = tracker;
  // Signals are handled from here on, also while the start waits for Redis: a stop never waits on it.
  let signals = 0;
  let exitCode: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => (exitCode = resolve));
  const stop = (why: string, graceMs?: number): void => {
    signals++;
    if (signals === 1) {
      // The tracker's `stopping` event (close() below emits it), as its log line.
      logger.info(
        { why, graceMs: graceMs ?? config.shutdownGraceMs, ...eventField('stopping') },
        'shutting down: no new tasks; running tasks may finish',
      );
    } else {
      logger.warn({ why }, 'second signal: killing running tasks now');
      for (const task of started.running.values()) task.kill('shutdown');
    }
    void started.close({ graceMs }).then(() => exitCode(signals > 1 ? 2 : 0));
  };
  const onSignal = (signal: NodeJS.Signals): void => stop(signal);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGUSR1', () => stop('SIGUSR1: the time-limit warning', config.warningGraceMs));
  if (config.idleExitMs > 0) {
    watchIdleExit(started, config.idleExitMs, () => {
      if (signals === 0) stop(`idle for GPUFLEET_IDLE_EXIT_MS (${config.idleExitMs} ms)`);
    });
  }
  try {
    await started.start();
  } catch (error) {
    if (signals > 0) return stopped;
    const code = reportStartError(error, logger);
    await started.close().catch(() => undefined);
    return code;
  }
  return stopped; // once a signal's close() has finished
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `gpufleet-tracker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
