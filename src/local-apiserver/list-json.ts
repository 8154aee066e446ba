// A list as kube-apiserver serializes it, in pieces: the list's own fields, then each item's cached
// JSON, then the end, so that the whole never has to be one string.

import { apiVersionOf } from './resources.js';
import type { ResourceDef } from './resource-def.js';
import type { StoredObject } from './store.js';

/**
 * Items go without their own apiVersion and kind (the list names the type once), and an empty
 * metadata-only list has `"items":null` (a Go nil slice), where a full list has `[]`.
 */
export function* listPieces(def: ResourceDef, metadataOnly: boolean, listMeta: Record<string, unknown>, items: readonly StoredObject[]): Generator<string> {
  const head = JSON.stringify({
    kind: metadataOnly ? 'PartialObjectMetadataList' : `${def.kind}List`,
    apiVersion: metadataOnly ? 'meta.k8s.io/v1' : apiVersionOf(def),
    metadata: listMeta,
  }).slice(0, -1);
  if (metadataOnly && items.length === 0) {
    yield `${head},"items":null}`;
    return;
  }
  yield `${head},"items":[`;
  for (const [i, s] of items.entries()) {
    if (i > 0) yield ',';
    yield metadataOnly ? s.metadataJson() : s.itemJson();
  }
  yield ']}';
}
