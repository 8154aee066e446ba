// Snapshot files hold every task's data, so they are the owner's alone, as `etcdctl snapshot save`
// writes its snapshots: files 0600, and 0700 for a directory cmstate creates.

import { stat } from 'node:fs/promises';

export const SNAPSHOT_FILE_MODE = 0o600;
export const SNAPSHOT_DIR_MODE = 0o700;

export interface ExposedFile {
  path: string;
  /** The permission bits, as ls and chmod write them ("0644"). */
  mode: string;
}

/**
 * The files among `paths` that every user of the machine may read or write. Group bits are left
 * alone: with a pod's fsGroup, Kubernetes makes the files of a volume group-readable for the pod's
 * own group when it mounts it.
 */
export async function exposedFiles(paths: readonly string[]): Promise<ExposedFile[]> {
  const exposed: ExposedFile[] = [];
  for (const path of paths) {
    const mode = (await stat(path)).mode & 0o777;
    if ((mode & 0o007) !== 0) exposed.push({ path, mode: `0${mode.toString(8).padStart(3, '0')}` });
  }
  return exposed;
}
