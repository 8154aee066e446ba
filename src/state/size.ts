import type { ConfigMap } from '../kube/types.js';

/**
 * The size the API server checks against its 1 MiB limit: the UTF-8 bytes of the `data`
 * values plus the raw (base64-decoded) bytes of the `binaryData` values. Keys do not count.
 */
export function configMapSize(cm: Pick<ConfigMap, 'data' | 'binaryData'>): number {
  let bytes = 0;
  for (const value of Object.values(cm.data ?? {})) bytes += Buffer.byteLength(value, 'utf8');
  for (const value of Object.values(cm.binaryData ?? {})) bytes += Buffer.byteLength(value, 'base64');
  return bytes;
}
