import { PathEscapeError } from '../errors.js';

/** Why `key` is not a valid artifact key (see checkArtifactKey), or null when it is. */
export function artifactKeyProblem(key: string): string | null {
  if (key === '') return 'the key is empty';
  if (key.includes('\0')) return 'it contains a NUL character';
  if (key.includes('\\')) return 'it contains a backslash';
  if (key.startsWith('/')) return 'it is absolute';
  for (const segment of key.split('/')) {
    if (segment === '') return 'it has an empty segment ("//" or a leading or trailing "/")';
    if (segment === '.' || segment === '..') return `it has a "${segment}" segment`;
  }
  return null;
}

/**
 * Checks an artifact key: `/`-separated, relative, no empty, `.` or `..` segment, no backslash or
 * NUL. Such keys are refused (PathEscapeError naming the key and the reason), never repaired, so a
 * key that passes is already in normal form and is returned unchanged.
 */
export function checkArtifactKey(key: string): string {
  const problem = artifactKeyProblem(key);
  if (problem !== null) throw new PathEscapeError(key, problem);
  return key;
}

/** Whether `key` is a valid artifact key (see checkArtifactKey); for filtering listings. */
export function isArtifactKey(key: string): boolean {
  return artifactKeyProblem(key) === null;
}

/** Joins key parts (each a checked key of one or more segments) with `/`: `joinKey(tenant, task, 'out')`. */
export function joinKey(...parts: string[]): string {
  if (parts.length === 0) throw new PathEscapeError('', 'there are no parts to join');
  return parts.map(checkArtifactKey).join('/');
}
