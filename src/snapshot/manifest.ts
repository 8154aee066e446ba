// The snapshot file format, version 1: a gzip-compressed NDJSON data file (one stripped
// ConfigMap per line) and a JSON manifest beside it that makes the pair verifiable. Names start
// with the snapshot's UTC time, so a plain sort of a directory lists snapshots oldest first.

import { DateTime } from 'luxon';
import { z } from 'zod';

export const SNAPSHOT_FORMAT = 'cmstate-snapshot';
export const SNAPSHOT_FORMAT_VERSION = 1;

export const DATA_SUFFIX = '.ndjson.gz';
export const MANIFEST_SUFFIX = '.manifest.json';
/** Files being written carry this suffix until they are complete; readers never list them. */
export const PARTIAL_SUFFIX = '.partial';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 in hex');

/** One object of the data file, in line order. */
export const snapshotEntrySchema = z.object({
  namespace: z.string(),
  name: z.string().min(1),
  /** sha256 of the object's line (UTF-8 JSON, without the newline). */
  sha256: sha256Hex,
  bytes: z.number().int().min(0),
});
export type SnapshotEntry = z.output<typeof snapshotEntrySchema>;

export const snapshotManifestSchema = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  formatVersion: z.number().int(),
  createdAt: z.string(),
  reason: z.string(),
  namespaces: z.union([z.array(z.string()), z.literal('all')]),
  selector: z.string(),
  /** The data file's name, relative to the manifest's directory. */
  dataFile: z.string().min(1),
  objects: z.number().int().min(0),
  /** Size of the data file as stored (compressed). */
  bytes: z.number().int().min(0),
  uncompressedBytes: z.number().int().min(0),
  /** sha256 of the data file as stored. */
  sha256: sha256Hex,
  entries: z.array(snapshotEntrySchema),
});
export type SnapshotManifest = z.output<typeof snapshotManifestSchema>;

export interface SnapshotFileNames {
  /** `cmstate-20261122T103000.123Z-snapshot-ab12.ndjson.gz` */
  dataFile: string;
  /** `cmstate-20261122T103000.123Z-snapshot-ab12.manifest.json` */
  manifestFile: string;
}

const STAMP_FORMAT = "yyyyLLdd'T'HHmmss.SSS'Z'";
const NAME = /^cmstate-(\d{8}T\d{6}\.\d{3}Z)-([a-z0-9-]+)-([0-9a-f]{4})(\.ndjson\.gz|\.manifest\.json)$/;

/** File names for a snapshot taken at `time`; `suffix` tells apart snapshots of the same millisecond. */
export function snapshotFileNames(time: DateTime, reason: string, suffix: string): SnapshotFileNames {
  const stamp = time.toUTC().toFormat(STAMP_FORMAT);
  const slug =
    reason
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'snapshot';
  const base = `cmstate-${stamp}-${slug}-${suffix}`;
  return { dataFile: `${base}${DATA_SUFFIX}`, manifestFile: `${base}${MANIFEST_SUFFIX}` };
}

export interface ParsedSnapshotName {
  base: string;
  time: DateTime;
  reason: string;
  kind: 'data' | 'manifest';
}

/** The parts of a snapshot file name, or undefined for any other file. */
export function parseSnapshotFileName(fileName: string): ParsedSnapshotName | undefined {
  const match = NAME.exec(fileName);
  if (!match) return undefined;
  const [, stamp = '', reason = '', , suffix] = match;
  const time = DateTime.fromFormat(stamp, STAMP_FORMAT, { zone: 'utc' });
  if (!time.isValid) return undefined;
  const kind = suffix === DATA_SUFFIX ? 'data' : 'manifest';
  return { base: fileName.slice(0, fileName.length - (suffix ?? '').length), time, reason, kind };
}

/** The data and manifest paths of a snapshot named by either of its two files (or their common base). */
export function snapshotPaths(file: string): { dataPath: string; manifestPath: string } {
  const base = file.endsWith(MANIFEST_SUFFIX) ? file.slice(0, -MANIFEST_SUFFIX.length) : file.endsWith(DATA_SUFFIX) ? file.slice(0, -DATA_SUFFIX.length) : file;
  return { dataPath: `${base}${DATA_SUFFIX}`, manifestPath: `${base}${MANIFEST_SUFFIX}` };
}
