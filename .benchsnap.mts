import { benchSnapshot } from './test/bench/snapshot.js';
import { formatSection } from './test/bench/table.js';
const scale = (process.argv[2] ?? 'small') as 'small' | 'full';
console.log(formatSection(await benchSnapshot({ scale, progress: (l) => console.error(l) })));
