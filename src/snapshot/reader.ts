// Reading snapshots back: verify a pair (manifest, checksums, every line a ConfigMap), stream
// its objects, and list a directory's snapshots oldest first. Everything streams the data file;
// the first problem found names the object it is in, so a person knows where the damage starts.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { DateTime } from 'luxon';
import { z } from 'zod';
import type { ConfigMap } from '../kube/types.js';
import { parseSnapshotFileName, SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_VERSION, snapshotManifestSchema, snapshotPaths, type SnapshotEntry, type SnapshotManifest } from './manifest.js';
import { exposedFiles, type ExposedFile } from './privacy.js';

/** Where in the data file a problem is: the object's position (1-based) and, when known, its name. */
export interface ObjectPosition {
  index: number;
  namespace?: string;
  name?: string;
}

export class SnapshotCorruptError extends Error {
  override name = 'SnapshotCorruptError';
  constructor(
    message: string,
    readonly object?: ObjectPosition,
  ) {
    super(message);
  }
}

export type ManifestHeader = Omit<SnapshotManifest, 'entries'>;

export type VerifyResult =
  | { ok: true; file: string; manifestFile: string; manifest: ManifestHeader; objects: number; bytes: number; exposed: ExposedFile[] }
  | { ok: false; file: string; manifestFile: string; error: string; object?: ObjectPosition };

/** Reads and checks the manifest of the snapshot named by either of its files. */
export async function readManifest(file: string): Promise<SnapshotManifest> {
  const { manifestPath } = snapshotPaths(file);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new SnapshotCorruptError(`manifest ${path.basename(manifestPath)} is missing: the snapshot is incomplete (interrupted, or copied without it)`);
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SnapshotCorruptError(`manifest ${path.basename(manifestPath)} is not valid JSON (truncated or damaged)`);
  }
  const version = (json as { formatVersion?: unknown } | null)?.formatVersion;
  if ((json as { format?: unknown } | null)?.format === SNAPSHOT_FORMAT && typeof version === 'number' && version !== SNAPSHOT_FORMAT_VERSION) {
    throw new SnapshotCorruptError(`manifest ${path.basename(manifestPath)} has format version ${version}; this cmstate reads version ${SNAPSHOT_FORMAT_VERSION}`);
  }
  const parsed = snapshotManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SnapshotCorruptError(`manifest ${path.basename(manifestPath)} is not a cmstate snapshot manifest: ${issue?.path.join('.') || 'document'}: ${issue?.message ?? 'invalid'}`);
  }
  const manifest = parsed.data;
  if (manifest.entries.length !== manifest.objects)
    throw new SnapshotCorruptError(`manifest ${path.basename(manifestPath)} lists ${manifest.entries.length} objects but says it has ${manifest.objects}`);
  return manifest;
}

/** Checks a snapshot completely; never throws for a damaged file, it says what is wrong. */
export async function verifySnapshot(file: string): Promise<VerifyResult> {
  const { dataPath, manifestPath } = snapshotPaths(file);
  try {
    const manifest = await readManifest(file);
    let objects = 0;
    for await (const _ of scan(dataPath, manifest)) objects++;
    const { entries: _entries, ...header } = manifest;
    const exposed = await exposedFiles([dataPath, manifestPath]);
    return { ok: true, file: dataPath, manifestFile: manifestPath, manifest: header, objects, bytes: manifest.bytes, exposed };
  } catch (err) {
    if (err instanceof SnapshotCorruptError) return { ok: false, file: dataPath, manifestFile: manifestPath, error: err.message, object: err.object };
    return { ok: false, file: dataPath, manifestFile: manifestPath, error: (err as Error).message };
  }
}

/** The snapshot's objects in file order; throws SnapshotCorruptError at the first damaged one. */
export async function* readSnapshot(file: string): AsyncGenerator<ConfigMap> {
  const manifest = await readManifest(file);
  for await (const { cm } of scan(snapshotPaths(file).dataPath, manifest)) yield cm;
}

export interface SnapshotListing {
  /** The data file's path (it may be missing: see `dataPresent`). */
  file: string;
  /** The manifest's path, when the manifest exists. */
  manifestFile: string | undefined;
  time: DateTime;
  reason: string;
  dataPresent: boolean;
  /** The manifest, when present and readable (entries left out). */
  manifest: ManifestHeader | undefined;
  /** Modification time of the newer file, to order snapshots of the same instant. */
  modifiedMs: number;
}

/** The snapshots in `dir`, oldest first; a missing directory has none. Files being written are not listed. */
export async function listSnapshots(dir: string): Promise<SnapshotListing[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const groups = new Map<string, { time: DateTime; reason: string; data: boolean; manifest: boolean }>();
  for (const name of names) {
    const parsed = parseSnapshotFileName(name);
    if (!parsed) continue;
    const group = groups.get(parsed.base) ?? { time: parsed.time, reason: parsed.reason, data: false, manifest: false };
    group[parsed.kind === 'data' ? 'data' : 'manifest'] = true;
    groups.set(parsed.base, group);
  }
  const listings: SnapshotListing[] = [];
  for (const [base, group] of groups) {
    const { dataPath, manifestPath } = snapshotPaths(path.join(dir, base));
    let manifest: ManifestHeader | undefined;
    if (group.manifest) {
      try {
        const { entries: _entries, ...header } = await readManifest(manifestPath);
        manifest = header;
      } catch {
        manifest = undefined;
      }
    }
    const times = await Promise.all([group.data ? dataPath : undefined, group.manifest ? manifestPath : undefined].map(async (p) => (p ? (await stat(p)).mtimeMs : 0)));
    listings.push({
      file: dataPath,
      manifestFile: group.manifest ? manifestPath : undefined,
      time: group.time,
      reason: group.reason,
      dataPresent: group.data,
      manifest,
      modifiedMs: Math.max(...times),
    });
  }
  return listings.sort((a, b) => a.time.toMillis() - b.time.toMillis() || a.modifiedMs - b.modifiedMs || a.file.localeCompare(b.file));
}

// ---------------------------------------------------------------------------------------------

/** Canonical base64, as the API server writes binaryData; a round trip is much faster than a regex over a MiB. */
const isBase64 = (text: string) => Buffer.from(text, 'base64').toString('base64') === text;
const stringMap = z.record(z.string(), z.string());
const configMapLineSchema = z.looseObject({
  apiVersion: z.literal('v1').optional(),
  kind: z.literal('ConfigMap').optional(),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels: stringMap.optional(),
    annotations: stringMap.optional(),
    ownerReferences: z.array(z.looseObject({ apiVersion: z.string(), kind: z.string(), name: z.string(), uid: z.string() })).optional(),
  }),
  data: stringMap.optional(),
  binaryData: z.record(z.string(), z.string().refine(isBase64, 'must be base64')).optional(),
  immutable: z.boolean().optional(),
});

/** A line longer than this is damage, not a ConfigMap (those are at most ~1.4 MB as JSON). */
const MAX_LINE_BYTES = 8 * 1024 * 1024;

/**
 * The data file's objects checked against the manifest, in order: each line's sha256 and
 * ConfigMap shape, then the count, size and sha256 of the whole file at the end.
 */
async function* scan(dataPath: string, manifest: SnapshotManifest): AsyncGenerator<{ index: number; entry: SnapshotEntry; cm: ConfigMap }> {
  const label = (entry: SnapshotEntry | undefined, index: number) => (entry ? `object #${index} ${entry.namespace}/${entry.name}` : `object #${index}`);
  const position = (entry: SnapshotEntry | undefined, index: number): ObjectPosition => ({ index, namespace: entry?.namespace, name: entry?.name });
  try {
    await stat(dataPath);
  } catch {
    throw new SnapshotCorruptError(`data file ${path.basename(dataPath)} is missing`);
  }
  const fileHash = createHash('sha256');
  let fileBytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      fileHash.update(chunk);
      fileBytes += chunk.length;
      done(null, chunk);
    },
  });
  const gunzip = createGunzip();
  const done = pipeline(createReadStream(dataPath), tap, gunzip);
  done.catch(() => undefined);
  let index = 0;
  try {
    for await (const line of splitLines(gunzip)) {
      index++;
      const entry = manifest.entries[index - 1];
      if (!entry) throw new SnapshotCorruptError(`${label(entry, index)}: the data file has more objects than the manifest's ${manifest.objects}`, position(entry, index));
      if (createHash('sha256').update(line).digest('hex') !== entry.sha256)
        throw new SnapshotCorruptError(`${label(entry, index)}: sha256 does not match the manifest (the object is damaged)`, position(entry, index));
      let json: unknown;
      try {
        json = JSON.parse(line.toString('utf8'));
      } catch {
        throw new SnapshotCorruptError(`${label(entry, index)}: the line is not valid JSON`, position(entry, index));
      }
      const parsed = configMapLineSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new SnapshotCorruptError(`${label(entry, index)}: not a ConfigMap: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`, position(entry, index));
      }
      const cm = parsed.data as ConfigMap;
      if (cm.metadata.name !== entry.name || (cm.metadata.namespace ?? '') !== entry.namespace) {
        throw new SnapshotCorruptError(`${label(entry, index)}: the line holds ${cm.metadata.namespace ?? ''}/${cm.metadata.name} instead`, position(entry, index));
      }
      yield { index, entry, cm };
    }
  } catch (err) {
    if (err instanceof SnapshotCorruptError) throw err;
    const entry = manifest.entries[index];
    const where = index < manifest.objects ? label(entry, index + 1) : `after object #${index}`;
    throw new SnapshotCorruptError(`${where}: the data file is damaged or truncated (${(err as Error).message})`, index < manifest.objects ? position(entry, index + 1) : undefined);
  }
  await done;
  if (index !== manifest.objects) {
    const entry = manifest.entries[index];
    throw new SnapshotCorruptError(`${label(entry, index + 1)}: missing, the data file ends after ${index} of ${manifest.objects} objects (truncated)`, position(entry, index + 1));
  }
  if (fileBytes !== manifest.bytes) throw new SnapshotCorruptError(`data file ${path.basename(dataPath)} is ${fileBytes} bytes, the manifest says ${manifest.bytes}`);
  const sha256 = fileHash.digest('hex');
  if (sha256 !== manifest.sha256) throw new SnapshotCorruptError(`data file ${path.basename(dataPath)} sha256 ${sha256} does not match the manifest's ${manifest.sha256}`);
}

/** The stream's bytes split at newlines; the newlines are not part of the lines. */
async function* splitLines(stream: Readable): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, at);
      yield pending.length ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingBytes = 0;
      start = at + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_LINE_BYTES) throw new Error(`a line longer than ${MAX_LINE_BYTES} bytes`);
    }
  }
  if (pendingBytes > 0) throw new Error('the last line is incomplete');
}
