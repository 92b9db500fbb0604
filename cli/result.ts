/** What a command answers: one JSON document for --json, lines for people, and the lines --quiet keeps. */
export interface CommandResult {
  json: unknown;
  text: string[];
  quiet: string[];
}
