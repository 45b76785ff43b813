/**
 * Tells an input archive from a plain input file by its name: `.tar`, `.tar.gz` and `.tgz`
 * (any letter case) are archives the tracker extracts into the task's `inputs/` folder.
 */

export type ArchiveKind = 'tar' | 'tar.gz';

/** The archive kind that `fileName`'s extension names, or null when it is not an archive. */
export function archiveKind(fileName: string): ArchiveKind | null {
  const name = fileName.toLowerCase();
  if (name.endsWith('.tar.gz') || name.endsWith('.tgz')) return 'tar.gz';
  if (name.endsWith('.tar')) return 'tar';
  return null;
}
