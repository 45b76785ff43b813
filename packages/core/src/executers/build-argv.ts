/**
 * The placeholder grammar of command elements, and `buildArgv`, which turns a manifest's command
 * into the argv of one task run. Each value becomes whole arguments: nothing is split on spaces and
 * nothing passes through a shell (design invariant 6).
 */
import path from 'node:path';
import { ValidationError } from '../errors.js';

/**
 * Placeholders filled from the task's context; `{param.NAME}` (the task's parameters) and
 * `{port.NAME}` (a service's allocated ports, service-manifest.ts) are the other kinds.
 */
export const CONTEXT_PLACEHOLDERS = [
  'inputDir',
  'outputDir',
  'taskDir',
  'executerDir',
  'gpuIds',
  'taskId',
  'attempt',
] as const;
export type ContextPlaceholder = (typeof CONTEXT_PLACEHOLDERS)[number];

/** One piece of a command element: literal text, or a placeholder name such as `param.steps`. */
export type TemplatePart = { kind: 'text'; text: string } | { kind: 'placeholder'; name: string };

const TOKEN = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;

/** Splits a command element into text and `{placeholder}` parts; `{{` and `}}` are literal braces. */
export function parseTemplate(element: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let last = 0;
  for (const m of element.matchAll(TOKEN)) {
    text += element.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[1] === undefined) {
      text += m[0].charAt(0);
      continue;
    }
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
    parts.push({ kind: 'placeholder', name: m[1] });
  }
  text += element.slice(last);
  if (text !== '') parts.push({ kind: 'text', text });
  return parts;
}

/** What the context placeholders (`{inputDir}`, `{gpuIds}`, ...) are filled from. */
export interface ArgvContext {
  executerDir: string;
  taskDir: string;
  inputDir: string;
  outputDir: string;
  /** The GPUs given to the task; `{gpuIds}` is them comma-separated, empty on CPU. */
  gpuIds: readonly number[];
  taskId: string;
  attempt: number;
  /** A service's ports by name, as the tracker allocated them; `{port.NAME}` is the number. */
  ports?: Readonly<Record<string, number>>;
}

/** The program to start (absolute, or a bare name for PATH lookup) and its arguments. */
export interface Argv {
  file: string;
  args: string[];
}

/** A parameter value as one argument: strings as they are, numbers and booleans by String, the rest as JSON. */
function toArg(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return JSON.stringify(value) ?? '';
}

/**
 * Where parameters would put a NUL character into an argument, which argv cannot carry, as JSON
 * pointers (`/label`, `/files/2`): a string parameter, or a string item of an array parameter
 * (each item is an argument of its own). Every other value becomes an argument through String or
 * JSON.stringify (see toArg), which never yield a raw NUL (JSON writes it as the escape `\u0000`).
 * Submissions are checked with this (validateParams) so such a task is refused, not run.
 */
export function nulArgumentPointers(params: Readonly<Record<string, unknown>>): string[] {
  const pointers: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    const pointer = `/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (typeof value === 'string') {
      if (value.includes('\0')) pointers.push(pointer);
    } else if (Array.isArray(value)) {
      value.forEach((item: unknown, i) => {
        if (typeof item === 'string' && item.includes('\0')) pointers.push(`${pointer}/${i}`);
      });
    }
  }
  return pointers;
}

function paramValue(params: Readonly<Record<string, unknown>>, placeholder: string): unknown {
  const name = placeholder.slice('param.'.length);
  return Object.hasOwn(params, name) ? params[name] : undefined;
}

function contextValue(ctx: ArgvContext, name: string, field: string): string {
  if (name.startsWith('port.')) {
    const ports = ctx.ports ?? {};
    const port = name.slice('port.'.length);
    if (Object.hasOwn(ports, port)) return String(ports[port]);
    throw new ValidationError('invalid executer command', [
      { field, reason: `no port was allocated for {${name}}` },
    ]);
  }
  switch (name) {
    case 'inputDir':
      return ctx.inputDir;
    case 'outputDir':
      return ctx.outputDir;
    case 'taskDir':
      return ctx.taskDir;
    case 'executerDir':
      return ctx.executerDir;
    case 'gpuIds':
      return ctx.gpuIds.join(',');
    case 'taskId':
      return ctx.taskId;
    case 'attempt':
      return String(ctx.attempt);
    default:
      throw new ValidationError('invalid executer command', [
        { field, reason: `unknown placeholder {${name}}` },
      ]);
  }
}

/**
 * The arguments one command element stands for. An element that is exactly `{param.x}` gives one
 * argument per item when x is an array and none when x is undefined; an element that embeds an
 * undefined parameter is dropped whole.
 */
function expandElement(
  element: string,
  field: string,
  ctx: ArgvContext,
  params: Readonly<Record<string, unknown>>,
): string[] {
  const parts = parseTemplate(element);
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only?.kind === 'placeholder' && only.name.startsWith('param.')) {
    const value = paramValue(params, only.name);
    if (value === undefined) return [];
    return Array.isArray(value) ? value.map(toArg) : [toArg(value)];
  }
  let arg = '';
  for (const part of parts) {
    if (part.kind === 'text') {
      arg += part.text;
    } else if (part.name.startsWith('param.')) {
      const value = paramValue(params, part.name);
      if (value === undefined) return [];
      arg += toArg(value);
    } else {
      arg += contextValue(ctx, part.name, field);
    }
  }
  return [arg];
}

/**
 * The argv of one run: placeholders substituted, `command[0]` resolved against the executer's
 * folder when it is a relative path with a `/` (a bare name is left for PATH lookup).
 */
export function buildArgv(
  manifest: { readonly command: readonly string[] },
  ctx: ArgvContext,
  params: Readonly<Record<string, unknown>>,
): Argv {
  const argv: string[] = [];
  manifest.command.forEach((element, i) => {
    for (const arg of expandElement(element, `command[${i}]`, ctx, params)) {
      if (arg.includes('\0')) {
        throw new ValidationError('invalid task', [
          { field: `command[${i}]`, reason: 'an argument would contain a NUL character' },
        ]);
      }
      argv.push(arg);
    }
  });
  const [program, ...args] = argv;
  if (program === undefined || program === '') {
    throw new ValidationError('invalid task', [
      { field: 'command[0]', reason: 'the program is empty after substituting placeholders' },
    ]);
  }
  const file =
    !path.isAbsolute(program) && program.includes('/') ? path.resolve(ctx.executerDir, program) : program;
  return { file, args };
}
