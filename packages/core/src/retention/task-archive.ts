/**
 * Archived task history in the artifact store: before a finished task's record leaves Redis
 * (retention-sweep.ts), it is written here, so a task can still be read by id and a tenant's tasks
 * listed by the day they ended. Two objects per task, both written before the Redis delete:
 *
 *   _archive/tasks/<id>.json                      the record (task-record.ts) and `archivedAt`
 *   _archive/tenants/<tenant>/<yyyy-mm-dd>/<id>.json   a summary, for listing a tenant's day
 *
 * `_archive` cannot be a tenant's folder (tenant names start with a letter or digit), so the
 * archive never meets outputs (`<tenant>/<task>/<attempt>/...`). Writing again is harmless: a
 * sweep that crashed between the archive and the delete writes the same objects next time.
 */
import { isTaskStatus, type TaskStatus } from '../task-status.js';
import type { TaskRecord } from '../task-record.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { readArtifact } from '../artifacts/read-artifact.js';

export const ARCHIVE_ROOT = '_archive';

/**
 * A task as the archive keeps it: its record when it left Redis, when that was, the version of
 * its executer (a field of the task hash that the record leaves out), and when the outputs
 * retention deleted its outputs (outputs-retention.ts; absent while they are kept).
 */
export type ArchivedTask = TaskRecord & {
  archivedAt: number;
  executerVersion?: string | null;
  outputsDeletedAt?: number;
};

/** What a tenant's day lists of each task. */
export interface ArchivedSummary {
  id: string;
  tenant: string;
  queue: string;
  executer: string;
  name: string | null;
  status: TaskStatus;
  createdAt: number;
  endedAt: number | null;
}

/** The UTC day (`yyyy-mm-dd`) of `ms`. */
export function archiveDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function archivedTaskKey(id: string): string {
  return `${ARCHIVE_ROOT}/tasks/${id}.json`;
}

/** The folder of a tenant's tasks that ended on `day` (`yyyy-mm-dd`). */
export function archivedDayPrefix(tenant: string, day: string): string {
  return `${ARCHIVE_ROOT}/tenants/${tenant}/${day}`;
}

/** Writes a finished task's record and its listing entry (the record first: it is what reads need). */
export async function archiveTask(
  store: ArtifactStore,
  record: TaskRecord,
  now: number,
  executerVersion: string | null = null,
): Promise<void> {
  const archived: ArchivedTask = { ...record, archivedAt: now, executerVersion };
  await store.put(archivedTaskKey(record.id), JSON.stringify(archived));
  const summary: ArchivedSummary = {
    id: record.id,
    tenant: record.tenant,
    queue: record.queue,
    executer: record.executer,
    name: record.name,
    status: record.status,
    createdAt: record.createdAt,
    endedAt: record.endedAt,
  };
  const day = archiveDay(record.endedAt ?? record.createdAt);
  await store.put(`${archivedDayPrefix(record.tenant, day)}/${record.id}.json`, JSON.stringify(summary));
}

/** The archived record of task `id`; null when the archive has none. */
export async function readArchivedTask(store: ArtifactStore, id: string): Promise<ArchivedTask | null> {
  if (!/^[0-9a-z]{1,64}$/.test(id)) return null;
  const key = archivedTaskKey(id);
  if (!(await store.stat(key))) return null;
  const parsed = JSON.parse((await readArtifact(store, key)).toString('utf8')) as ArchivedTask;
  return parsed.id === id && isTaskStatus(parsed.status) ? parsed : null;
}

/** The tasks of `tenant` that ended on `day` (`yyyy-mm-dd`), as the archive lists them. */
export async function listArchivedDay(
  store: ArtifactStore,
  tenant: string,
  day: string,
): Promise<ArchivedSummary[]> {
  const out: ArchivedSummary[] = [];
  for await (const info of store.list(archivedDayPrefix(tenant, day))) {
    out.push(JSON.parse((await readArtifact(store, info.key)).toString('utf8')) as ArchivedSummary);
  }
  return out.sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0) || a.id.localeCompare(b.id));
}
