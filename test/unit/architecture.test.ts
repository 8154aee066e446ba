// The code base has no import cycles: a module's imports (static, dynamic and type-only) never
// lead back to it. The layers themselves (src/, jobs/, cli/, src/kube/) are lint rules
// (eslint.config.js); a cycle can form within one layer too, so it is checked here.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LAYERS = ['src', 'jobs', 'cli'];
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Each module (repository-relative) to the modules it imports by relative path. */
export function importGraph(files: string[], read: (file: string) => string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = [...read(file).matchAll(IMPORT)].map((m) => path.relative(root, path.resolve(path.dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))));
    graph.set(path.relative(root, file), [...new Set(targets)]);
  }
  return graph;
}

/** Every cycle's modules, one list per strongly connected component of more than one module (or a module importing itself). */
export function cycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  let next = 0;
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node) as number, low.get(target) as number));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node) as number, index.get(target) as number));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe('architecture', () => {
  test('no module of src/, jobs/ or cli/ imports itself back, however indirectly', () => {
    const files = LAYERS.flatMap((layer) => sourceFiles(path.join(root, layer)));
    const graph = importGraph(files, (file) => readFileSync(file, 'utf8'));
    assert.ok(graph.size > 100, `read ${graph.size} modules`);
    assert.deepEqual(
      cycles(graph).map((component) => component.join(' -> ')),
      [],
    );
  });

  test('the check finds cycles of every kind of import', () => {
    const sources: Record<string, string> = {
      [path.join(root, 'src/a.ts')]: "import type { B } from './b.js';",
      [path.join(root, 'src/b.ts')]: "export const load = () => import('../jobs/c.js');",
      [path.join(root, 'jobs/c.ts')]: "export { a } from '../src/a.js';",
      [path.join(root, 'src/d.ts')]: "import './d.js';",
      [path.join(root, 'src/e.ts')]: "import { a } from './a.js';",
    };
    const graph = importGraph(Object.keys(sources), (file) => sources[file] as string);
    assert.deepEqual(cycles(graph), [['jobs/c.ts', 'src/a.ts', 'src/b.ts'], ['src/d.ts']]);
  });
});
