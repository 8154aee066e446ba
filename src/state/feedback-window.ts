// One page of a feedback history that is read source by source (the state, then each archive), so
// that only one decoded source, the page itself and the ids are held at a time, however long the
// history: the page is the `limit` first entries after the cursor, kept sorted as sources arrive,
// and the total counts distinct ids. An id seen again (an entry still in the state while its
// archive was being written) is one entry: its first copy counts, so give the state first.

import type { FeedbackEntry } from './schema.js';

export type EntryKey = Pick<FeedbackEntry, 'timestamp' | 'id'>;

export class FeedbackWindow {
  private readonly ids = new Set<string>();
  /** Sorted, at most `limit + 1` long: the extra one says whether a next page exists. */
  private readonly kept: FeedbackEntry[] = [];

  constructor(
    private readonly limit: number,
    private readonly after: EntryKey | undefined,
  ) {}

  add(entries: Iterable<FeedbackEntry>): void {
    for (const entry of entries) {
      if (this.ids.has(entry.id)) continue;
      this.ids.add(entry.id);
      if (this.after !== undefined && compareEntries(entry, this.after) <= 0) continue;
      const at = this.insertionPoint(entry);
      if (at > this.limit) continue;
      this.kept.splice(at, 0, entry);
      if (this.kept.length > this.limit + 1) this.kept.pop();
    }
  }

  /** The page's entries, whether more follow them, and the number of distinct entries seen. */
  result(): { entries: FeedbackEntry[]; more: boolean; total: number } {
    return { entries: this.kept.slice(0, this.limit), more: this.kept.length > this.limit, total: this.ids.size };
  }

  private insertionPoint(entry: FeedbackEntry): number {
    let low = 0;
    let high = this.kept.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareEntries(this.kept[mid] as FeedbackEntry, entry) <= 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/** History order: by timestamp, then by id. */
export function compareEntries(a: EntryKey, b: EntryKey): number {
  const ta = Date.parse(a.timestamp);
  const tb = Date.parse(b.timestamp);
  if (ta !== tb) return ta - tb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
