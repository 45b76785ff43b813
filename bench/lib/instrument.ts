/**
 * Temporary instrumentation for the per-task profile, from outside the packages (nothing in src
 * changes): every Redis command (ioredis `sendCommand`; Lua scripts named by their SHA), the
 * fs/promises calls and FileHandle methods, `/proc` reads, `child_process.spawn` and artifact-store
 * puts are timed into one list of spans. Builtins are patched and `syncBuiltinESMExports()` makes
 * the packages' named imports see the wrappers.
 */
import childProcess from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { Redis } from 'ioredis';
import { luaScript, SCRIPT_NAMES, type ArtifactStore } from '@gpufleet/core';
import { preciseNow } from './bullmq-processor.js';

export interface Span {
  what: string;
  start: number;
  end: number;
}

export const spans: Span[] = [];
let recording = false;

/** Starts or stops recording spans (the instrumentation stays installed). */
export function record(on: boolean): void {
  recording = on;
}

function add(what: string, start: number): void {
  if (recording) spans.push({ what, start, end: preciseNow() });
}

/** Records the moment `what` happened (a zero-length span). */
export function mark(what: string, at = preciseNow()): void {
  if (recording) spans.push({ what, start: at, end: at });
}

type AnyFn = (...args: unknown[]) => unknown;

function wrapAsync(target: Record<string, unknown>, name: string, label: string): void {
  const original = target[name] as AnyFn;
  target[name] = function (this: unknown, ...args: unknown[]) {
    const start = preciseNow();
    const result = original.apply(this, args) as Promise<unknown>;
    void result.then(
      () => add(label, start),
      () => add(`${label} (error)`, start),
    );
    return result;
  };
}

function wrapSync(
  target: Record<string, unknown>,
  name: string,
  label: (args: unknown[]) => string | null,
): void {
  const original = target[name] as AnyFn;
  target[name] = function (this: unknown, ...args: unknown[]) {
    const start = preciseNow();
    try {
      return original.apply(this, args);
    } finally {
      const what = label(args);
      if (what !== null) add(what, start);
    }
  };
}

export async function install(): Promise<void> {
  const scripts = new Map(SCRIPT_NAMES.map((name) => [luaScript(name).fn, name]));
  const proto = Redis.prototype as unknown as Record<string, unknown>;
  const send = proto.sendCommand as AnyFn;
  proto.sendCommand = function (this: unknown, ...args: unknown[]) {
    const command = args[0] as { name: string; args: unknown[]; promise: Promise<unknown> };
    const start = preciseNow();
    let what = `redis ${command.name}`;
    if (command.name === 'fcall') {
      what = `lua ${scripts.get(String(command.args[0])) ?? '?'}`;
      if (what === 'lua set-status') what += command.args.includes('uploading') ? ' uploading' : ' running';
    }
    if (command.name !== 'xreadgroup' && command.name !== 'xread')
      command.promise.then(
        () => add(what, start),
        () => add(`${what} (error)`, start),
      );
    return send.apply(this, args);
  };
  const promises = fsp as unknown as Record<string, unknown>;
  for (const name of [
    'mkdir',
    'rm',
    'open',
    'writeFile',
    'rename',
    'lstat',
    'readdir',
    'realpath',
    'copyFile',
  ])
    wrapAsync(promises, name, `fs ${name}`);
  const handle = await fsp.open(new URL(import.meta.url), 'r');
  const handleProto = Object.getPrototypeOf(handle) as Record<string, unknown>;
  await handle.close();
  for (const name of ['sync', 'write', 'close', 'stat']) wrapAsync(handleProto, name, `fs handle.${name}`);
  wrapSync(fs as unknown as Record<string, unknown>, 'readFileSync', ([path]) =>
    String(path).startsWith('/proc/') ? 'fs readFileSync /proc' : null,
  );
  wrapSync(fs as unknown as Record<string, unknown>, 'createWriteStream', () => 'fs createWriteStream');
  wrapSync(childProcess as unknown as Record<string, unknown>, 'spawn', () => 'child_process.spawn');
  syncBuiltinESMExports();
}

/** An artifact store whose puts are spans `store.put <file name>`. */
export function timedStore(store: ArtifactStore): ArtifactStore {
  const put: ArtifactStore['put'] = async (key, source) => {
    const start = preciseNow();
    try {
      return await store.put(key, source);
    } finally {
      add(`store.put ${key.slice(key.lastIndexOf('/') + 1)}`, start);
    }
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'put') return put;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as AnyFn).bind(target) : value;
    },
  });
}
