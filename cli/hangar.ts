import { Command, CommanderError, Option } from 'commander';
import { alias } from './alias.ts';
import { parseInteger } from './args.ts';
import { CliError, errorJson, formatError, toCliError, usage } from './errors.ts';
import { log } from './log.ts';
import { ls } from './ls.ts';
import { makeOutput, stopProgress } from './output.ts';
import { pull } from './pull.ts';
import { push } from './push.ts';
import type { CommandResult } from './result.ts';
import { tokenCreate } from './token.ts';

/** Set by the build from package.json. */
declare const HANGAR_VERSION: string;
const version = typeof HANGAR_VERSION === 'string' ? HANGAR_VERSION : '0.0.0-dev';

interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
  quiet?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const DEFAULT_CONCURRENCY = '4';
const MAX_CONCURRENCY = 32;

/** The options every command takes, before or after its arguments. */
function common(cmd: Command): void {
  cmd
    .option('--url <url>', 'the server (default: $HANGAR_URL)')
    .option('--token <token>', 'the token (default: $HANGAR_TOKEN)')
    .option('--json', 'print one JSON document on stdout, nothing else')
    .option('--quiet', 'print only what a script needs');
}

/** The `hangar` program (DESIGN §7b); each action leaves its answer in `done`. */
function program(done: (result: CommandResult, opts: GlobalOptions) => void): Command {
  const root = new Command('hangar')
    .description('Push, pull and list models in a Hangar registry.')
    .version(version)
    .exitOverride()
    // Root options stop at the command's name, so `push --version LABEL` is push's own flag.
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (text, write) => write(formatError(usage(text.replace(/^error:\s*/, '').trim()))) });
  const run = (cmd: Command, work: (g: GlobalOptions) => Promise<CommandResult>) => async () => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    done(await work(g), g);
  };
  const conn = (g: GlobalOptions) => ({ url: g.url, token: g.token });

  const pushCmd = root
    .command('push')
    .description('upload files as a version of a model (created if missing), then wait until it is ready')
    .argument('<paths...>', 'files and folders; a folder gives every file under it')
    .requiredOption('--model <ns/name>', 'the model')
    .option('--version <label>', 'the version label; a re-run with the same label continues that version')
    .option('--alias <name>', 'move this alias to the version when it is ready')
    .option('--framework <name>', 'the framework that made the files')
    .option('--metrics <file>', 'metric points from a .json or .csv file')
    .option('--params <file>', 'params from a JSON object, kept as metadata (params.<key>)')
    .option('--meta <key=JSON>', 'a metadata key and its JSON value (repeatable)', collect, [])
    .option('--concurrency <n>', `requests sent at once: small files side by side (default ${DEFAULT_CONCURRENCY}), and a large file's parts (default 1: in order, which the server hashes as they arrive)`)
    .option('--dry-run', 'hash and list what would be sent; send nothing');
  pushCmd.action((paths: string[]) =>
    run(pushCmd, (g) => {
      const o = pushCmd.opts();
      const given = o['concurrency'] === undefined ? undefined : parseInteger(o['concurrency'] as string, '--concurrency', 1, MAX_CONCURRENCY);
      const concurrency = { files: given ?? Number(DEFAULT_CONCURRENCY), parts: given ?? 1 };
      return push(paths, { ...o, meta: o['meta'] as string[], model: o['model'] as string, concurrency }, conn(g), makeOutput(g));
    })(),
  );

  const pullCmd = root
    .command('pull')
    .description("write a version's files, each verified against its SHA-256")
    .argument('<ref>', 'namespace/model, namespace/model@alias or namespace/model/3')
    .option('-o, --output <dir>', 'the folder to write into', '.')
    .option('--force', 'overwrite files of the same names that hold other bytes')
    .option('--concurrency <n>', 'files fetched at once', DEFAULT_CONCURRENCY);
  pullCmd.action((ref: string) =>
    run(pullCmd, (g) => {
      const o = pullCmd.opts();
      return pull(ref, { output: o['output'] as string, force: o['force'] === true, concurrency: parseInteger(o['concurrency'] as string, '--concurrency', 1, MAX_CONCURRENCY) }, conn(g), makeOutput(g));
    })(),
  );

  const lsCmd = root
    .command('ls')
    .description("namespaces; a namespace's models; or a model's versions")
    .argument('[target]', 'namespace or namespace/model')
    .option('--filter <expr>', "e.g. \"name LIKE 'churn%'\" or \"metrics.accuracy > 0.9\"");
  lsCmd.action((target: string | undefined) => run(lsCmd, (g) => ls(target, lsCmd.opts(), conn(g)))());

  const logCmd = root
    .command('log')
    .description('log metric points on a version')
    .argument('<ref>', 'the version')
    .argument('[points...]', 'key=value pairs')
    .option('--step <n>', 'the step of these points (default 0)');
  logCmd.action((ref: string, points: string[]) => run(logCmd, (g) => log(ref, points, logCmd.opts(), conn(g)))());

  const aliasCmd = root
    .command('alias')
    .description('point an alias at a version number')
    .argument('<model>', 'namespace/model')
    .argument('<alias>', 'e.g. production')
    .argument('<number>', 'the version number')
    .option('--expected <n>', 'only if the alias still points at version n');
  aliasCmd.action((model: string, name: string, n: string) => run(aliasCmd, (g) => alias(model, name, n, aliasCmd.opts(), conn(g)))());

  const tokenCmd = root.command('token').description('manage tokens (needs an admin token)');
  const createCmd = tokenCmd
    .command('create')
    .description('make a token; it is shown once')
    .requiredOption('--namespace <ns>', 'its namespace, or * for all')
    .addOption(new Option('--role <role>', 'what it may do').choices(['read', 'write', 'admin']).makeOptionMandatory())
    .option('--name <name>', 'a name shown in lists and events')
    .option('--origins <list>', 'browser origins it works from, comma-separated')
    .option('--expires <date>', 'when it stops working, e.g. 2027-01-31');
  createCmd.action(() => run(createCmd, (g) => tokenCreate(createCmd.opts(), conn(g)))());
  for (const c of [root, pushCmd, pullCmd, lsCmd, logCmd, aliasCmd, createCmd]) common(c);
  for (const c of [root, pushCmd, pullCmd, lsCmd, logCmd, aliasCmd, tokenCmd, createCmd]) c.exitOverride();
  return root;
}

function print(result: CommandResult, opts: GlobalOptions): void {
  const lines = opts.json ? [JSON.stringify(result.json, null, 2)] : opts.quiet ? result.quiet : result.text;
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
}

/** Runs the command line; answers the exit code: 0 done, 1 failed, 2 usage. */
export async function main(argv: string[]): Promise<number> {
  try {
    await program(print).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    stopProgress();
    if (err instanceof CommanderError) {
      // --help and --version end here too, successfully; anything else commander refused is usage
      // (already on stderr, through configureOutput).
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(errorJson(usage(err.message.replace(/^error:\s*/, ''))), null, 2)}\n`);
      return 2;
    }
    const e: CliError = toCliError(err);
    process.stderr.write(formatError(e));
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(errorJson(e), null, 2)}\n`);
    return e.exitCode;
  }
}

// Exit at once: a failed command must not wait for requests still in flight beside it.
main(process.argv.slice(2)).then((code) => process.exit(code));
