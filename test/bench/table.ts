// What every benchmark returns and how the runner prints it: titled tables of figures, with
// notes saying what was measured and how.

export type Scale = 'small' | 'full';

export interface BenchOptions {
  scale: Scale;
  /** Progress lines for the person waiting (stderr). */
  progress: (line: string) => void;
  /** An existing cluster to run against instead of the embedded API server (`--kubeconfig`). */
  kubeconfig?: string;
}

export type Cell = string | number;

export interface BenchSection {
  title: string;
  columns: string[];
  rows: Cell[][];
  /** Method, targets and verdicts, printed under the table. */
  notes?: string[];
  /** A run in the table failed or broke a limit: the table is printed, and the bench exits non-zero. */
  failed?: boolean;
}

/** Figures keep three significant digits, integers at 1000 and above print whole. */
export function formatCell(cell: Cell): string {
  if (typeof cell === 'string') return cell;
  if (!Number.isFinite(cell)) return String(cell);
  if (Number.isInteger(cell) || Math.abs(cell) >= 1000) return Math.round(cell).toLocaleString('en-US');
  return Number(cell.toPrecision(3)).toString();
}

export function formatSection(section: BenchSection): string {
  const cells = [section.columns, ...section.rows.map((row) => row.map(formatCell))];
  const widths = section.columns.map((_, c) => Math.max(...cells.map((row) => (row[c] ?? '').length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join(' | ')} |`;
  const out = [`## ${section.title}`, '', line(section.columns), `|${widths.map((w, c) => (c === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`];
  for (const row of cells.slice(1)) out.push(line(row));
  if (section.notes?.length) out.push('', ...section.notes.map((note) => `- ${note}`));
  return out.join('\n');
}

/** Nearest-rank percentile of an unsorted sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function mib(bytes: number): number {
  return bytes / (1024 * 1024);
}
