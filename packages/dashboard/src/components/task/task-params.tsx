/**
 * The task's parameters as a readable key/value list: text, numbers and booleans as they are,
 * lists of plain values joined, objects nested (as JSON past a few levels), empty values said.
 */
import type { ComponentChildren } from 'preact';

const DEEPEST = 3;

function Value({ value, depth }: { value: unknown; depth: number }): ComponentChildren {
  if (value === null || value === undefined) return <span class="muted">null</span>;
  if (typeof value === 'string')
    return value === '' ? <span class="muted">(empty)</span> : <span class="mono">{value}</span>;
  if (typeof value === 'number' || typeof value === 'boolean')
    return <span class="mono">{String(value)}</span>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span class="muted">(none)</span>;
    if (value.every((v) => v === null || typeof v !== 'object')) {
      return (
        <span class="mono">
          {value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}
        </span>
      );
    }
  }
  if (depth >= DEEPEST || Array.isArray(value))
    return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
  return <Entries object={value as Record<string, unknown>} depth={depth + 1} />;
}

function Entries({ object, depth }: { object: Record<string, unknown>; depth: number }) {
  const entries = Object.entries(object);
  if (entries.length === 0) return <span class="muted">(none)</span>;
  return (
    <dl class={`params${depth > 0 ? ' nested' : ''}`}>
      {entries.map(([key, value]) => (
        <div key={key}>
          <dt class="mono">{key}</dt>
          <dd>
            <Value value={value} depth={depth} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

export function TaskParams({ params }: { params: Record<string, unknown> }) {
  return (
    <section class="panel" aria-labelledby="params-title">
      <h2 id="params-title">Parameters</h2>
      {Object.keys(params).length === 0 ? (
        <p class="muted small">None: the executer’s defaults.</p>
      ) : (
        <Entries object={params} depth={0} />
      )}
    </section>
  );
}
