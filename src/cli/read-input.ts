// Reads a command's standard input (for `manage NAME < conf`), refusing a terminal with nothing piped.

export async function readStdin(what: string): Promise<string> {
  if (process.stdin.isTTY) {
    throw new Error(`${what} is read from standard input: reactor manage NAME < endpoint.conf`);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
