import cliProgress from 'cli-progress';

/** How a command reports: `--json` (one document on stdout), `--quiet`, or lines for people. */
export interface Output {
  json: boolean;
  quiet: boolean;
  /** A line for people on stdout; nothing under --json or --quiet. */
  info(line: string): void;
  /** A byte-counting progress bar; silent unless stdout is a terminal and neither --json nor --quiet. */
  progress(label: string, total: number): Progress;
}

export interface Progress {
  add(bytes: number): void;
  done(): void;
}

const silent: Progress = { add() {}, done() {} };

/** Bars still drawing: a command that fails stops them, so the terminal gets its cursor back. */
const active = new Set<cliProgress.SingleBar>();

export function stopProgress(): void {
  for (const bar of active) bar.stop();
  active.clear();
}

export function makeOutput(opts: { json?: boolean; quiet?: boolean }): Output {
  const json = opts.json === true;
  const quiet = opts.quiet === true;
  const forPeople = !json && !quiet;
  // Progress is for someone watching: never in CI logs or pipes.
  const bars = forPeople && process.stdout.isTTY === true;
  return {
    json,
    quiet,
    info(line) {
      if (forPeople) process.stdout.write(`${line}\n`);
    },
    progress(label, total) {
      if (!bars || total === 0) return silent;
      const bar = new cliProgress.SingleBar(
        {
          format: `${label.padEnd(10)} {bar} {percentage}% | {value}/{total} MiB | {eta_formatted}`,
          stream: process.stdout,
          hideCursor: true,
          clearOnComplete: false,
          formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? (v / 2 ** 20).toFixed(1) : String(v)),
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
      active.add(bar);
      return {
        add: (bytes) => bar.increment(bytes),
        done: () => {
          bar.stop();
          active.delete(bar);
        },
      };
    },
  };
}

/** Bytes as people read them. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
