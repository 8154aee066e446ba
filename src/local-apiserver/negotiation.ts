// Accept-header negotiation for the three representations served: the objects themselves,
// metadata only (PartialObjectMetadata[List]) and kubectl's server-side printing (Table).

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

function representationOf(m: MediaRange, shape: RequestShape): Representation | undefined {
  if (m.type !== 'application/json' && m.type !== '*/*' && m.type !== 'application/*') return undefined;
  const as = m.params['as'];
  if (as === undefined) return 'object';
  if (m.params['g'] !== 'meta.k8s.io' || (m.params['v'] !== 'v1' && m.params['v'] !== 'v1beta1')) return undefined;
  if (as === 'Table') return shape === 'watch' ? undefined : 'table';
  if (as === 'PartialObjectMetadataList') return shape === 'get' ? undefined : 'metadata';
  if (as === 'PartialObjectMetadata') return shape === 'list' ? undefined : 'metadata';
  return undefined;
}

/**
 * The first representation in the Accept header this server can produce. Plain JSON answers media
 * types it does not speak (protobuf, yaml), but an `as=` form that does not fit the request and
 * leaves nothing else acceptable is a 406, as on the real server.
 */
export function negotiate(accept: string | undefined, shape: RequestShape): Representation {
  const ranges = parseAccept(accept ?? '');
  for (const m of ranges) {
    const r = representationOf(m, shape);
    if (r) return r;
  }
  if (ranges.length > 0 && ranges.every((m) => m.params['as'] !== undefined)) throw notAcceptable();
  return 'object';
}
