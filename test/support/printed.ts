/** What `fn` printed with console.log (the providers' lines), one string per call. */
export async function printed(fn: () => Promise<unknown> | unknown): Promise<string[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  try {
    await fn();
  } finally {
    console.log = log;
  }
  return lines;
}
