// `cmstate restore`: verify the file, then bring its objects back. Owners (task states) go
// first, then the objects they own (archives), re-linked to the owners' uids of now. Overwrite
// saves what it replaces to a fresh snapshot before replacing anything, and replaces only the
// version it saved (resourceVersion precondition): anything changed meanwhile is skipped.

import path from 'node:path';
import { oneLine } from '../../src/exit.js';
import { runBounded } from '../../src/job/executor.js';
import { fullObjectConcurrency } from '../../src/kube/list-stream.js';
import type { JobRun } from '../../src/job/runner.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../src/kube/errors.js';
import { involvedConfigMap, type ConfigMap } from '../../src/kube/types.js';
import { SnapshotWriter } from '../../src/snapshot/writer.js';
import { objectsToRestore, selectedObjects, verifySource } from './observe.js';
import { prepareObject, restoreAction, targetNamespace, type RestoreFilter, type RestoreMode } from './plan.js';

export interface RestoreOptions {
  /** The snapshot's data file or manifest. */
  from: string;
  mode: RestoreMode;
  filter: RestoreFilter;
  /** Restore every object into this namespace; undefined: each into the one it was taken from. */
  namespace: string | undefined;
  /** Where overwrite saves what it replaces. */
  snapshotDir: string;
}

export type RestoreOutcome = 'created' | 'overwritten' | 'skipped' | 'failed' | 'would-create' | 'would-overwrite';

export interface RestoreReportEntry {
  namespace: string;
  name: string;
  outcome: RestoreOutcome;
  reason?: string;
}

interface Current {
  resourceVersion: string;
  uid: string | undefined;
}

export async function restore(run: JobRun, options: RestoreOptions): Promise<void> {
  await verifySource(run, options.from);

  const restorer = new Restorer(run, options);
  if (options.mode === 'overwrite') await restorer.saveWhatWillBeOverwritten();
  try {
    // Owners first: their new uids are what the owned objects' references need.
    for (const owned of [false, true]) {
      const { interrupted } = await runBounded(objectsToRestore(run, options.from, options.filter, owned), fullObjectConcurrency(run.config), (cm) => restorer.restoreOne(cm), run.signal);
      if (interrupted) break;
    }
  } finally {
    restorer.printReport();
  }
}

class Restorer {
  private readonly report: RestoreReportEntry[] = [];
  /** Objects that exist now, by `namespace/name`: what overwrite replaces (and saved first). */
  private readonly existing = new Map<string, Current>();
  /** uids of owners by `namespace/name`, null when the owner does not exist. */
  private readonly ownerUids = new Map<string, string | null>();
  private readonly source: string;

  constructor(
    private readonly run: JobRun,
    private readonly options: RestoreOptions,
  ) {
    this.source = path.basename(options.from);
  }

  /** Overwrite's first step: every selected object that exists now goes to a new snapshot. */
  async saveWhatWillBeOverwritten(): Promise<void> {
    const writer =
      this.run.dryRun === 'none'
        ? await SnapshotWriter.create(this.options.snapshotDir, { namespaces: this.options.namespace ? [this.options.namespace] : 'all', selector: '', reason: 'restore-overwrite', now: this.run.now })
        : undefined;
    try {
      const { interrupted } = await runBounded(
        selectedObjects(this.options.from, this.options.filter),
        fullObjectConcurrency(this.run.config),
        async (cm) => {
          const ref = { namespace: targetNamespace(cm, this.options.namespace), name: cm.metadata.name };
          const current = await this.get(ref);
          if (!current) return;
          this.existing.set(key(ref), { resourceVersion: current.metadata.resourceVersion ?? '', uid: current.metadata.uid });
          await writer?.add(current);
        },
        this.run.signal,
      );
      if (interrupted) throw new Error('stopped by a signal before the objects to overwrite were saved; nothing was changed');
      if (!writer) return;
      if (this.existing.size === 0) {
        await writer.abort();
        return;
      }
      const saved = await writer.commit();
      this.run.log.info({ file: saved.file, objects: saved.objects }, `saved the ${saved.objects} objects to be overwritten to ${saved.file}`);
      if (this.run.output === 'json') this.run.print(JSON.stringify({ snapshot: saved.file, manifest: saved.manifestFile, reason: 'restore-overwrite', objects: saved.objects, bytes: saved.bytes }));
      else this.run.print(`saved the ${saved.objects} objects to be overwritten to ${saved.file}`);
    } catch (err) {
      await writer?.abort();
      throw err;
    }
  }

  async restoreOne(cm: ConfigMap): Promise<void> {
    const namespace = targetNamespace(cm, this.options.namespace);
    const ref = { namespace, name: cm.metadata.name };
    const id = key(ref);
    try {
      for (const owner of cm.metadata.ownerReferences ?? []) if (owner.kind === 'ConfigMap') await this.resolveOwner({ namespace, name: owner.name });
      const { object, droppedOwners } = prepareObject(cm, namespace, (name) => this.ownerUids.get(key({ namespace, name })) ?? undefined);
      const note = droppedOwners.length ? `owner ${droppedOwners.join(', ')} not found: restored without its owner reference` : undefined;
      if (this.run.planOnly) return await this.preview(ref, note);
      const current = this.existing.get(id);
      if (restoreAction(this.options.mode, current !== undefined) === 'overwrite' && current) await this.overwrite(object, current, note);
      else await this.create(object, note);
    } catch (err) {
      this.run.tally.fail(id, `restore ${id} failed: ${oneLine(err)}`);
      this.add(ref, 'failed', oneLine(err));
    }
  }

  private async create(object: ConfigMap, note: string | undefined): Promise<void> {
    const ref = { namespace: object.metadata.namespace ?? '', name: object.metadata.name };
    this.run.tally.plan('create');
    try {
      const created = await this.run.client.createConfigMap(object, this.run.signal);
      this.ownerUids.set(key(ref), created.metadata.uid ?? null);
      this.run.tally.apply('create');
      this.add(ref, 'created', note);
      await this.run.event({ involved: involvedConfigMap(created.metadata), type: 'Normal', reason: 'Restored', action: 'Restore', message: `restored from snapshot ${this.source}` });
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      // create-missing: it exists, so it is left alone. overwrite: it was created after the objects to overwrite were saved.
      const reason = this.options.mode === 'overwrite' ? 'conflict' : 'exists';
      this.run.tally.skip(reason);
      this.add(ref, 'skipped', reason === 'exists' ? 'exists' : 'conflict: created since the objects to overwrite were saved');
    }
  }

  private async overwrite(object: ConfigMap, current: Current, note: string | undefined): Promise<void> {
    const ref = { namespace: object.metadata.namespace ?? '', name: object.metadata.name };
    this.run.tally.plan('overwrite');
    try {
      const replaced = await this.run.client.replaceConfigMap({ ...object, metadata: { ...object.metadata, resourceVersion: current.resourceVersion, uid: current.uid } }, this.run.signal);
      this.ownerUids.set(key(ref), replaced.metadata.uid ?? null);
      this.run.tally.apply('overwrite');
      this.add(ref, 'overwritten', note);
      await this.run.event({
        involved: involvedConfigMap(replaced.metadata),
        type: 'Normal',
        reason: 'Overwritten',
        action: 'Restore',
        message: `overwritten from snapshot ${this.source}; the previous version was saved first`,
      });
    } catch (err) {
      if (!(err instanceof ConflictError || err instanceof NotFoundError)) throw err;
      this.run.tally.skip('conflict');
      this.add(ref, 'skipped', err instanceof NotFoundError ? 'conflict: deleted since it was saved' : 'conflict: changed since it was saved');
    }
  }

  private async preview(ref: { namespace: string; name: string }, note: string | undefined): Promise<void> {
    const exists = this.options.mode === 'overwrite' ? this.existing.has(key(ref)) : (await this.get(ref)) !== undefined;
    const action = restoreAction(this.options.mode, exists);
    if (action === 'skip-exists') {
      this.run.tally.skip('exists');
      this.add(ref, 'skipped', 'exists');
      return;
    }
    this.run.tally.plan(action);
    // Owned objects of this dry run refer to it as if it had been created.
    if (action === 'create') this.ownerUids.set(key(ref), '(new)');
    this.add(ref, action === 'overwrite' ? 'would-overwrite' : 'would-create', note);
  }

  private async resolveOwner(ref: { namespace: string; name: string }): Promise<void> {
    if (this.ownerUids.has(key(ref))) return;
    const owner = await this.get(ref);
    this.ownerUids.set(key(ref), owner?.metadata.uid ?? null);
  }

  private async get(ref: { namespace: string; name: string }): Promise<ConfigMap | undefined> {
    try {
      return await this.run.client.getConfigMap(ref, this.run.signal);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  private add(ref: { namespace: string; name: string }, outcome: RestoreOutcome, reason?: string): void {
    this.report.push({ namespace: ref.namespace, name: ref.name, outcome, ...(reason ? { reason } : {}) });
  }

  /** The per-object report, before the summary line: text lines, or one JSON line `{"objects": [...]}`. */
  printReport(): void {
    const entries = this.report.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    if (this.run.output === 'json') {
      this.run.print(JSON.stringify({ objects: entries }));
      return;
    }
    for (const entry of entries) this.run.print(`${entry.outcome.replace('-', ' ')} ${entry.namespace}/${entry.name}${entry.reason ? `: ${entry.reason}` : ''}`);
  }
}

function key(ref: { namespace: string; name: string }): string {
  return `${ref.namespace}/${ref.name}`;
}
