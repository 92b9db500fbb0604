// The profiling figure's page: makes the CSV once, then runs one side per call in a new worker.
import { wrap } from 'comlink';
import { seededRandom } from '../../web/jobs/modules/tabular-data.ts';
import type { TabularBenchWorker } from './tabular.worker.ts';

let csv: Blob | null = null;

const tabular = {
  /** A CSV of `rows` rows and 30 columns: an id, 20 numeric (10% missing), 8 categorical (5% missing), a yes/no target. */
  make(rows: number): number {
    const random = seededRandom(3);
    const header = ['id', ...Array.from({ length: 20 }, (_, j) => `x${j}`), ...Array.from({ length: 8 }, (_, j) => `c${j}`), 'target'];
    const lines = [header.join(',')];
    for (let i = 0; i < rows; i++) {
      const cells: string[] = [String(i + 1)];
      let score = 0;
      for (let j = 0; j < 20; j++) {
        const x = random() * 2 - 1;
        score += (j % 3 === 0 ? 1 : -0.5) * x;
        cells.push(random() < 0.1 ? (random() < 0.5 ? '' : 'NA') : x.toFixed(4));
      }
      for (let j = 0; j < 8; j++) {
        const k = Math.floor(random() * (5 + j));
        score += k % 2 ? 0.3 : -0.3;
        cells.push(random() < 0.05 ? '' : `level_${j}_${k}`);
      }
      cells.push(score > 0 ? 'yes' : 'no');
      lines.push(cells.join(','));
    }
    csv = new Blob([lines.join('\n')], { type: 'text/csv' });
    return csv.size;
  },
  async run(side: 'papa' | 'papa-ahead' | 'hangar') {
    if (!csv) throw new Error('make first');
    const worker = new Worker(new URL('./tabular.worker.ts', import.meta.url), { type: 'module' });
    try {
      const api = wrap<TabularBenchWorker>(worker);
      return side === 'hangar' ? await api.profile(csv, 'target') : { ...(await api.papa(csv, side === 'papa-ahead')), inputs: 0, phases: undefined };
    } finally {
      worker.terminate();
    }
  },
};

declare global {
  interface Window {
    tabular: typeof tabular;
  }
}
window.tabular = tabular;
