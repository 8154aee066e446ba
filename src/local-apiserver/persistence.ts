// The optional data file: the whole store as one JSON document, loaded at start and rewritten
// (debounced, atomically via a temp file and rename) after changes, so a crash never leaves half a file.

import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { KubeObject } from './resource-def.js';
import type { StoredObject } from './store.js';

export class DataFileError extends Error {
  override name = 'DataFileError';
}

export interface DataFileContents {
  resourceVersion: number;
  objects: KubeObject[];
}

/** Reads the data file, or undefined when it does not exist yet. */
export function loadDataFile(path: string): DataFileContents | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DataFileError(`data file ${path} is not valid JSON (${(err as Error).message}); move it away to start empty`);
  }
  const doc = parsed as Partial<{ resourceVersion: string; objects: unknown }>;
  const rv = Number(doc?.resourceVersion);
  if (!Number.isSafeInteger(rv) || !Array.isArray(doc.objects)) {
    throw new DataFileError(`data file ${path} lacks "resourceVersion" or "objects"; move it away to start empty`);
  }
  return { resourceVersion: rv, objects: doc.objects as KubeObject[] };
}

export class DataFileWriter {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(
    private readonly path: string,
    private readonly debounceMs: number,
    private readonly snapshot: () => { resourceVersion: number; objects: Iterable<StoredObject> },
  ) {}

  /** Notes a change; the file is rewritten once changes pause for the debounce window. */
  schedule(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.debounceMs);
    this.timer.unref();
  }

  /** Writes now if anything changed; resolves when the file on disk is current. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.writing = this.writing.then(() => this.writeIfDirty());
    return this.writing;
  }

  private async writeIfDirty(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const { resourceVersion, objects } = this.snapshot();
    const parts: string[] = [];
    for (const o of objects) parts.push(o.json());
    const text = `{"resourceVersion":"${resourceVersion}","objects":[\n${parts.join(',\n')}\n]}\n`;
    const tmp = `${this.path}.tmp-${process.pid}`;
    await writeFile(tmp, text);
    await rename(tmp, this.path);
  }
}
