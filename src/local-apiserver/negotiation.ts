// Accept-header negotiation for the three representations served: the objects themselves,
// metadata only (PartialObjectMetadata[List]) and kubectl's server-side printing (Table).

import { storageOf } from './resources.js';
import type { ResourceDef } from './resource-def.js';
import { notAcceptable } from './status.js';

export type Representation = 'object' | 'metadata' | 'table';

export type RequestShape = 'get' | 'list' | 'watch';

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseAccept(accept: string): MediaRange[] {
  return accept
    .split(',')
    .map((part) => {
      const [type = '', ...rawParams] = part.split(';').map((s) => s.trim());
      const params: Record<string, string> = {};
      for (const p of rawParams) {
        const eq = p.indexOf('=');
        if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
      }
      return { type: type.toLowerCase(), params };
    })
    .filter((m) => m.type !== '');
}

type Target = 'object' | 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList';

/** What a media range asks for, if this server can produce it at all. */
function targetOf(m: MediaRange, shape: RequestShape): Target | undefined {
  if (m.type !== 'application/json' && m.type !== '*/*' && m.type !== 'application/*') return undefined;
  const as = m.params['as'];
  if (as === undefined) return 'object';
  if (m.params['g'] !== 'meta.k8s.io' || (m.params['v'] !== 'v1' && m.params['v'] !== 'v1beta1')) return undefined;
  // Watch events carry no Table here; a later range is used instead.
  if (as === 'Table') return shape === 'watch' ? undefined : 'Table';
  if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return as;
  return undefined;
}

/** The Go type kube-apiserver names in its 406 texts: the internal version of the stored kind. */
function internalType(def: ResourceDef, shape: RequestShape): string {
  const { group, kind } = storageOf(def);
  return `*${group === '' ? 'core' : group.split('.')[0]}.${kind}${shape === 'get' ? '' : 'List'}`;
}

/**
 * The representation the first Accept range this server can produce asks for. Plain JSON answers
 * media types it does not speak (protobuf, yaml), but `as=` forms that leave nothing acceptable are
 * a 406. As on the real server, negotiation does not know whether the request reads one object or
 * a list: a metadata form of the wrong shape wins it and then fails with a 406 of its own.
 */
export function negotiate(accept: string | undefined, shape: RequestShape, def: ResourceDef): Representation {
  const ranges = parseAccept(accept ?? '');
  const target = ranges.map((m) => targetOf(m, shape)).find((t) => t !== undefined);
  switch (target) {
    case undefined:
      if (ranges.length > 0 && ranges.every((m) => m.params['as'] !== undefined)) throw notAcceptable();
      return 'object';
    case 'object':
      return 'object';
    case 'Table':
      return 'table';
    case 'PartialObjectMetadata':
      if (shape === 'list') throw notAcceptable(`you requested PartialObjectMetadata, but the requested object is a list (${internalType(def, shape)})`);
      return 'metadata';
    case 'PartialObjectMetadataList':
      if (shape === 'get') throw notAcceptable(`you requested PartialObjectMetadataList, but the requested object is not a list (${internalType(def, shape)})`);
      return 'metadata';
  }
}
