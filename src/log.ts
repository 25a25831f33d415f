// The build log's one vocabulary. Shape (in the spirit of Heroku's CNB output):
//
//   ## Python buildpack 0.1.0
//
//   - Python version
//     - Found 3.12 in runtime.txt
//     - Using cached Python 3.12.4
//   - Done (2.1s)
//
// Warnings and errors are blocks prefixed with "!", so they stand out in long CI logs.
export type Sink = (text: string) => void;

export class Log {
  constructor(private readonly out: Sink = (t) => process.stdout.write(t)) {}

  /** Raw text, as it is (to replay a buffered log). */
  write(text: string): void {
    this.out(text);
  }

  /** A log that keeps its lines until `flushTo`, for a step that runs beside another one. */
  static buffered(): { log: Log; flushTo: (target: Log) => void } {
    const chunks: string[] = [];
    return { log: new Log((t) => chunks.push(t)), flushTo: (target) => target.write(chunks.splice(0).join('')) };
  }

  title(text: string): void {
    this.out(`\n## ${text}\n\n`);
  }

  /** A step of the build: "- Python version". */
  step(text: string): void {
    this.out(`- ${text}\n`);
  }

  /** What a step decided or found: "  - Using cached Python 3.12.4". */
  info(text: string): void {
    this.out(`  - ${text}\n`);
  }

  /** A second-level detail under an info line. */
  detail(text: string): void {
    this.out(`    - ${text}\n`);
  }

  /** Output of a command we run, indented so it reads as belonging to the step. */
  commandOutput(chunk: string): void {
    this.out(chunk.replace(/^(?=.)/gm, '      '));
  }

  warning(title: string, body: string[] = []): void {
    this.block('Warning', title, body);
  }

  error(title: string, body: string[] = []): void {
    this.block('Error', title, body);
  }

  private block(kind: string, title: string, body: string[]): void {
    const lines = [`! ${kind}: ${title}`, ...(body.length ? ['!'] : []), ...body.flatMap((b) => b.split('\n')).map((l) => (l ? `! ${l}` : '!'))];
    this.out(`\n${lines.join('\n')}\n\n`);
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m ${Math.round((ms % 60_000) / 1000)}s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** "a, b and c" */
export function listing(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
