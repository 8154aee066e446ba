// Byte counts as Kubernetes writes memory quantities (`32Mi`, `1G`, `33554432`), so a flag takes
// the same spelling as the chart's resources.

const QUANTITY = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const FACTORS: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** The number of bytes, or undefined when `text` is not a quantity like 32Mi or 33554432. */
export function parseByteQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (FACTORS[match[2] ?? ''] as number));
}
