import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const root = new URL('../..', import.meta.url).pathname;

/** Builds the command once per run, so the tests run exactly what the package ships. */
export default async function setup(): Promise<void> {
  await promisify(execFile)(process.execPath, ['scripts/build-cli.mjs'], { cwd: root });
}
