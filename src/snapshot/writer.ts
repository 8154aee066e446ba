// Writes one snapshot as a stream: each object is stripped, serialized as one NDJSON line,
// hashed and gzipped straight to disk, and only its name and hash are kept (in a side file), so
// memory does not grow with the object count. Crash safety comes from the order of commit:
// the data file is fsynced and renamed first, the manifest (written whole to a temporary name,
// fsynced, renamed) last. Until the manifest is there, nothing verifies; once it is, both are
// complete on disk.

import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Transform, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGzip, type Gzip } from 'node:zlib';
import type { DateTime } from 'luxon';
import type { ConfigMap } from '../kube/types.js';
import { PARTIAL_SUFFIX, SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_VERSION, snapshotFileNames, type SnapshotEntry, type SnapshotManifest } from './manifest.js';
import { stripServerFields } from './strip.js';
import { SNAPSHOT_DIR_MODE, SNAPSHOT_FILE_MODE } from './privacy.js';

export interface SnapshotInfo {
  /** The namespaces the snapshot covers, or 'all' (--all-namespaces). */
  namespaces: string[] | 'all';
  /** The label selector the objects were listed with. */
  selector: string;
  /** Why it was taken; part of the file name. */
  reason: 'snapshot' | 'repair' | 'restore-overwrite' | (string & {});
  /** The snapshot's time: its file names and manifest. */
  now: DateTime;
}

export interface CommittedSnapshot {
  /** Path of the data file. */
  file: string;
  manifestFile: string;
  objects: number;
  /** Size of the data file (compressed). */
  bytes: number;
}

export class SnapshotWriterError extends Error {
  override name = 'SnapshotWriterError';
}

export class SnapshotWriter {
  private objects = 0;
  private uncompressedBytes = 0;
  private state: 'open' | 'committed' | 'aborted' = 'open';

  private constructor(
    private readonly info: SnapshotInfo,
    private readonly paths: { dir: string; data: string; manifest: string; dataTemp: string; entriesTemp: string; manifestTemp: string },
    private readonly gzip: Gzip,
    /** sha256 of the compressed bytes, as they go to disk. */
    private readonly dataHash: Hash,
    private readonly dataDone: Promise<void>,
    private readonly entries: WriteStream,
    private readonly entriesDone: Promise<void>,
  ) {}

  /** Opens a new snapshot in `dir` (created when missing). */
  static async create(dir: string, info: SnapshotInfo): Promise<SnapshotWriter> {
    await mkdir(dir, { recursive: true, mode: SNAPSHOT_DIR_MODE });
    const names = snapshotFileNames(info.now, info.reason, randomBytes(2).toString('hex'));
    const data = path.join(dir, names.dataFile);
    const manifest = path.join(dir, names.manifestFile);
    const paths = { dir, data, manifest, dataTemp: `${data}${PARTIAL_SUFFIX}`, entriesTemp: `${manifest}.entries${PARTIAL_SUFFIX}`, manifestTemp: `${manifest}${PARTIAL_SUFFIX}` };

    const gzip = createGzip();
    const dataFile = createWriteStream(paths.dataTemp, { flags: 'wx', mode: SNAPSHOT_FILE_MODE });
    const entries = createWriteStream(paths.entriesTemp, { flags: 'wx', mode: SNAPSHOT_FILE_MODE });
    const dataHash = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        dataHash.update(chunk);
        done(null, chunk);
      },
    });
    const dataDone = pipeline(gzip, tap, dataFile);
    const entriesDone = finished(entries);
    // Failures surface from add() or commit(); until then they must not count as unhandled.
    dataDone.catch(() => undefined);
    entriesDone.catch(() => undefined);
    return new SnapshotWriter(info, paths, gzip, dataHash, dataDone, entries, entriesDone);
  }

  /** Appends one ConfigMap, stripped of server-owned fields. Await it: it applies backpressure. */
  async add(cm: ConfigMap): Promise<void> {
    this.assertOpen('add');
    const line = Buffer.from(JSON.stringify(stripServerFields(cm)), 'utf8');
    const entry: SnapshotEntry = { namespace: cm.metadata.namespace ?? '', name: cm.metadata.name, sha256: createHash('sha256').update(line).digest('hex'), bytes: line.length };
    this.objects++;
    this.uncompressedBytes += line.length + 1;
    await Promise.all([write(this.gzip, Buffer.concat([line, NEWLINE]), this.dataDone), write(this.entries, `${JSON.stringify(entry)}\n`, this.entriesDone)]);
  }

  /** Completes the snapshot: data file durable and renamed, then the manifest. */
  async commit(): Promise<CommittedSnapshot> {
    this.assertOpen('commit');
    this.state = 'committed';
    try {
      this.gzip.end();
      this.entries.end();
      await Promise.all([this.dataDone, this.entriesDone]);
      await fsyncFile(this.paths.dataTemp);
      const bytes = (await stat(this.paths.dataTemp)).size;
      await rename(this.paths.dataTemp, this.paths.data);
      await fsyncFile(this.paths.dir);
      await this.writeManifest(bytes);
      await rename(this.paths.manifestTemp, this.paths.manifest);
      await fsyncFile(this.paths.dir);
      await rm(this.paths.entriesTemp, { force: true });
      return { file: this.paths.data, manifestFile: this.paths.manifest, objects: this.objects, bytes };
    } catch (err) {
      await this.removeFiles(true);
      throw new SnapshotWriterError(`could not write snapshot ${this.paths.data}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Discards the snapshot: nothing of it is left in the directory. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    this.gzip.destroy();
    this.entries.destroy();
    await Promise.allSettled([this.dataDone, this.entriesDone]);
    await this.removeFiles(false);
  }

  private async removeFiles(includingData: boolean): Promise<void> {
    const { dataTemp, entriesTemp, manifestTemp, data } = this.paths;
    await Promise.all([dataTemp, entriesTemp, manifestTemp, ...(includingData ? [data] : [])].map((file) => rm(file, { force: true })));
  }

  /** The manifest, with the entries copied line by line from the side file. */
  private async writeManifest(bytes: number): Promise<void> {
    const header: Omit<SnapshotManifest, 'entries'> = {
      format: SNAPSHOT_FORMAT,
      formatVersion: SNAPSHOT_FORMAT_VERSION,
      createdAt: this.info.now.toUTC().toISO() ?? '',
      reason: this.info.reason,
      namespaces: this.info.namespaces,
      selector: this.info.selector,
      dataFile: path.basename(this.paths.data),
      objects: this.objects,
      bytes,
      uncompressedBytes: this.uncompressedBytes,
      sha256: this.dataHash.digest('hex'),
    };
    const handle = await open(this.paths.manifestTemp, 'wx', SNAPSHOT_FILE_MODE);
    try {
      const headerJson = JSON.stringify(header);
      let chunk = `${headerJson.slice(0, -1)},"entries":[`;
      let first = true;
      const lines = createInterface({ input: createReadStream(this.paths.entriesTemp), crlfDelay: Infinity });
      for await (const line of lines) {
        if (!line) continue;
        chunk += `${first ? '' : ','}\n${line}`;
        first = false;
        if (chunk.length >= 64 * 1024) {
          await handle.write(chunk);
          chunk = '';
        }
      }
      await handle.write(`${chunk}\n]}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  private assertOpen(what: string): void {
    if (this.state !== 'open') throw new SnapshotWriterError(`cannot ${what}: the snapshot ${path.basename(this.paths.data)} was already ${this.state}`);
  }
}

const NEWLINE = Buffer.from('\n');

/** Writes with backpressure; a failure of the stream's pipeline ends the wait instead of hanging it. */
async function write(stream: Writable, chunk: Buffer | string, done: Promise<void>): Promise<void> {
  if (stream.write(chunk)) return;
  await Promise.race([new Promise<void>((resolve) => stream.once('drain', resolve)), done.then(() => undefined)]);
  if (stream.destroyed) await done;
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
