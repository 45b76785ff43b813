/**
 * A V8 CPU profile of this process (node:inspector, no flags needed) and a summary of it: where
 * the main thread's time went, by package ("self": the frame running; "on stack": the package
 * anywhere on the stack, so `execa` includes the spawn it calls), and the top functions. The raw
 * profile can be opened in Chrome DevTools (Performance → Load profile).
 */
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Starts profiling; the returned function stops and returns the profile. */
export async function startCpuProfile(intervalUs = 250): Promise<() => Promise<CpuProfile>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    return profile as unknown as CpuProfile;
  };
}

function categoryOf(url: string, name: string): string | null {
  if (name === '(idle)') return 'idle (waiting for I/O)';
  if (name === '(garbage collector)') return 'garbage collector';
  if (name === '(program)') return 'native (V8/libuv, unattributed)';
  if (url === '') return null; // a native function: counted under its caller
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg === 'pino' || pkg === 'sonic-boom' || pkg === 'pino-std-serializers') return 'logging (pino)';
  if (pkg) return pkg;
  const own = /\/packages\/([^/]+)\//.exec(url)?.[1];
  if (own) return `@gpufleet/${own}`;
  if (url.includes('/bench/')) return 'bench harness';
  if (/^node:(internal\/)?(child_process|process)/.test(url)) return 'node child_process';
  if (/^node:(internal\/)?(fs|fs\/)/.test(url)) return 'node fs';
  if (/^node:(internal\/)?(net|stream_base|streams|stream)/.test(url)) return 'node net/streams';
  if (url.startsWith('node:')) return 'node (other)';
  return url;
}

export interface ProfileSummary {
  totalMs: number;
  selfMs: Record<string, number>;
  onStackMs: Record<string, number>;
  topFunctions: Array<{ fn: string; selfMs: number }>;
}

export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const memo = new Map<number, { cat: string; stack: Set<string> }>();
  const info = (id: number): { cat: string; stack: Set<string> } => {
    const known = memo.get(id);
    if (known) return known;
    const node = byId.get(id);
    const up = parent.get(id);
    const above = up === undefined ? undefined : info(up);
    let result: { cat: string; stack: Set<string> };
    if (node?.callFrame.functionName === '(root)') {
      result = { cat: 'native (V8/libuv, unattributed)', stack: new Set() };
    } else {
      const own = node ? categoryOf(node.callFrame.url, node.callFrame.functionName) : null;
      const cat = own ?? above?.cat ?? 'native (V8/libuv, unattributed)';
      result = { cat, stack: new Set([...(above?.stack ?? []), cat]) };
    }
    memo.set(id, result);
    return result;
  };
  const selfMs: Record<string, number> = {};
  const onStackMs: Record<string, number> = {};
  const fnMs = new Map<string, number>();
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    const { cat, stack } = info(id);
    selfMs[cat] = (selfMs[cat] ?? 0) + ms;
    for (const c of stack) onStackMs[c] = (onStackMs[c] ?? 0) + ms;
    const f = byId.get(id)?.callFrame;
    const key = `${f?.functionName || '(anonymous)'} ${f?.url.replace(/^.*\/(node_modules|packages)\//, '') ?? ''}:${(f?.lineNumber ?? 0) + 1}`;
    fnMs.set(key, (fnMs.get(key) ?? 0) + ms);
  });
  const topFunctions = [...fnMs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25)
    .map(([fn, ms]) => ({ fn, selfMs: ms }));
  return { totalMs, selfMs, onStackMs, topFunctions };
}
