// A list response split into its items as its bytes arrive. A page of large ConfigMaps can be
// hundreds of MB of JSON: read whole, it is one string (V8 refuses past ~512 MiB) and then a
// second copy as parsed objects. Split, each item is parsed on its own as soon as it is complete,
// and the reader may stop once it holds enough bytes. What is not an item (kind, apiVersion,
// metadata with the continue token) is kept as a small JSON document of its own, with the items
// array left empty.
//
// The splitter only tracks what it must: nesting depth, strings and their escapes, and the keys
// of the top-level object. It does not validate JSON; each item and the rest are parsed by
// JSON.parse, which does.

import { parseByteQuantity } from '../util/quantity.js';

export const DEFAULT_PAGE_SIZE = 500;
/** Bytes of objects a page holds by default (--page-bytes): 25 states at the 1 MiB object limit (1.3 MB each as JSON). */
export const DEFAULT_PAGE_BYTES_QUANTITY = '32Mi';
export const DEFAULT_PAGE_BYTES = parseByteQuantity(DEFAULT_PAGE_BYTES_QUANTITY) as number;
/** A ConfigMap's JSON at most, as far as budgets go: 1 MiB of data, metadata (annotations up to 256 KiB), quoting. */
export const MAX_OBJECT_JSON_BYTES = 1.5 * 1024 * 1024;

/**
 * Whole objects worked on at once (one read each) within the same byte budget as a page: the
 * configured concurrency, unless that many objects at the size limit would not fit.
 */
export function fullObjectConcurrency(config: { concurrency: number; pageBytes: number }): number {
  return Math.max(1, Math.min(config.concurrency, Math.floor(config.pageBytes / MAX_OBJECT_JSON_BYTES)));
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

export class ListStreamError extends Error {
  override name = 'ListStreamError';
}

/** What a reader says after each item: go on, or stop reading this response. */
export type ItemVerdict = 'more' | 'stop';

export class ListSplitter {
  /** Containers open at the current byte: 1 inside the top-level object, 2 inside its `items` array. */
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Between a top-level `{` or `,` and the next key: the next string is a key. */
  private expectKey = false;
  private keyParts: Buffer[] | undefined;
  private lastKey: string | undefined;
  private region: 'rest' | 'items' | 'item' = 'rest';
  private readonly rest: Buffer[] = [];
  private itemParts: Buffer[] = [];
  private stopped = false;

  constructor(private readonly onItem: (json: Buffer) => ItemVerdict) {}

  /** Feeds the next bytes; false once the reader said stop (the rest of the response is not wanted). */
  push(bytes: Uint8Array): boolean {
    if (this.stopped) return false;
    const chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let start = 0;
    // Where the next quote and backslash are, each searched again only once passed: a string
    // dense with escapes would otherwise be scanned to its end after every one of them.
    let nextQuote = -2;
    let nextBackslash = -2;
    for (let i = 0; i < chunk.length; i++) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          continue;
        }
        // Strings are most of the bytes (a state's data): jump to the next quote or backslash.
        if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = chunk.indexOf(BACKSLASH, i);
        if (nextQuote !== -1 && nextQuote < i) nextQuote = chunk.indexOf(QUOTE, i);
        const quote = nextQuote;
        const end = nextBackslash !== -1 && (quote === -1 || nextBackslash < quote) ? nextBackslash : quote;
        if (end === -1) {
          this.keyParts?.push(chunk.subarray(i));
          break;
        }
        this.keyParts?.push(chunk.subarray(i, end));
        i = end;
        if (chunk[end] === BACKSLASH) this.escaped = true;
        else this.endString();
        continue;
      }
      const c = chunk[i];
      if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 1 && this.expectKey) this.keyParts = [];
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        this.depth++;
        if (this.depth === 1) this.expectKey = true;
        else if (this.depth === 2 && c === OPEN_ARRAY && this.lastKey === 'items' && this.region === 'rest') {
          this.rest.push(chunk.subarray(start, i + 1));
          this.region = 'items';
        } else if (this.depth === 3 && this.region === 'items') {
          this.region = 'item';
          start = i;
        }
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        this.depth--;
        if (this.depth === 2 && this.region === 'item') {
          this.itemParts.push(chunk.subarray(start, i + 1));
          this.region = 'items';
          if (!this.emitItem()) return false;
        } else if (this.depth === 1 && this.region === 'items') {
          this.region = 'rest';
          start = i;
        }
      } else if (c === COMMA && this.depth === 1) {
        this.expectKey = true;
        this.lastKey = undefined;
      } else if (c === COLON && this.depth === 1) {
        this.expectKey = false;
      } else if (this.region === 'items' && c !== COMMA && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        throw new ListStreamError(`the list's items array holds "${String.fromCharCode(c ?? 0)}…", not objects`);
      }
    }
    if (this.region === 'rest') this.rest.push(chunk.subarray(start));
    else if (this.region === 'item') this.itemParts.push(chunk.subarray(start));
    return true;
  }

  /** The list without its items (`"items":[]`, or `null` as sent), as JSON; throws when the response ended early. */
  finish(): string {
    if (this.stopped) throw new ListStreamError('the list was not read to its end');
    if (this.depth !== 0 || this.inString) throw new ListStreamError('the list response ended in the middle of the document (truncated)');
    return Buffer.concat(this.rest).toString('utf8');
  }

  private endString(): void {
    this.inString = false;
    if (this.keyParts === undefined) return;
    this.lastKey = Buffer.concat(this.keyParts).toString('utf8');
    this.keyParts = undefined;
  }

  private emitItem(): boolean {
    const json = this.itemParts.length === 1 ? (this.itemParts[0] as Buffer) : Buffer.concat(this.itemParts);
    this.itemParts = [];
    if (this.onItem(json) === 'stop') this.stopped = true;
    return !this.stopped;
  }
}

/** An item as the API sent it, before conversion; list items carry no apiVersion or kind. */
export interface RawObject {
  metadata?: { name?: string; namespace?: string; [field: string]: unknown };
  [field: string]: unknown;
}

/**
 * The items of one list answer that a page keeps: those after `after` (the last key already
 * yielded), until the next would take the page past `budget` bytes of JSON. The first kept item
 * is always taken, however large, so every request makes progress.
 */
export class PageCollector {
  readonly items: RawObject[] = [];
  private bytes = 0;
  /** The largest item seen, kept or not: what the next request's limit is sized by. */
  largest = 0;
  /** True when the budget ended the page before the answer did. */
  cut = false;

  constructor(
    private readonly budget: number,
    private readonly after: string | undefined,
  ) {}

  add(json: Buffer): ItemVerdict {
    const item = JSON.parse(json.toString('utf8')) as RawObject;
    this.largest = Math.max(this.largest, json.length);
    if (this.after !== undefined && rawKey(item) <= this.after) return 'more';
    if (this.items.length > 0 && this.bytes + json.length > this.budget) {
      this.cut = true;
      return 'stop';
    }
    this.items.push(item);
    this.bytes += json.length;
    return 'more';
  }
}

/** `namespace/name`, the order a list comes in. */
export function objectKey(meta: { namespace?: string; name?: string }): string {
  return `${meta.namespace ?? ''}/${meta.name ?? ''}`;
}

function rawKey(item: RawObject): string {
  return objectKey(item.metadata ?? {});
}
