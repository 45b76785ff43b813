// Every task failure code is documented in docs/task-failures.md with its final status (this test
// fails when a code is added without its row there, or a row names no code), each code ends a task
// with a final status other than `succeeded`, and the task record reads the code back from its hash.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FINAL_STATUSES, isTaskFailureCode, parseTaskRecord, TASK_FAILURES } from '@gpufleet/core';

const DOCS = new URL('../../../docs/task-failures.md', import.meta.url);

describe('docs/task-failures.md', () => {
  it('lists every failure code with its final status, and no other', async () => {
    const text = await readFile(DOCS, 'utf8');
    const rows = new Map<string, string>();
    for (const match of text.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*`([a-z_]+)`\s*\|/gm))
      rows.set(match[1] as string, match[2] as string);
    for (const [code, { status }] of Object.entries(TASK_FAILURES)) {
      expect(rows.get(code), `docs/task-failures.md has no row for ${code}`).toBe(status);
    }
    expect([...rows.keys()].filter((code) => !(code in TASK_FAILURES))).toEqual([]);
  });

  it('is linked from docs/api.md', async () => {
    const api = await readFile(new URL('../../../docs/api.md', import.meta.url), 'utf8');
    expect(api).toContain('(task-failures.md)');
  });
});

describe('TASK_FAILURES', () => {
  it('ends each task with a final status other than succeeded', () => {
    for (const [code, { status }] of Object.entries(TASK_FAILURES)) {
      expect(FINAL_STATUSES, code).toContain(status);
      expect(status, code).not.toBe('succeeded');
    }
  });

  it('is what the task record reads from the hash’s errorCode; anything else reads as null', () => {
    const hash = { id: 't1', status: 'timed_out', error: 'time limit of 5 ms reached' };
    expect(parseTaskRecord({ ...hash, errorCode: 'TIME_LIMIT' })?.errorCode).toBe('TIME_LIMIT');
    expect(parseTaskRecord({ ...hash, errorCode: '' })?.errorCode).toBeNull();
    expect(parseTaskRecord(hash)?.errorCode).toBeNull();
    expect(parseTaskRecord({ ...hash, errorCode: 'toString' })?.errorCode).toBeNull();
    expect(isTaskFailureCode('NOT_A_CODE')).toBe(false);
  });
});
