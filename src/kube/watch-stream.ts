// A watch answer is one JSON event per line, for as long as the watch lasts. This splits the
// bytes into those lines as they arrive, holding only the line not yet complete.

export class WatchLineSplitter {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private partial = '';

  /** The complete lines in `chunk` (with what came before it); empty lines are skipped. */
  push(chunk: Uint8Array): string[] {
    const text = this.partial + this.decoder.decode(chunk, { stream: true });
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    return lines.filter((line) => line.trim() !== '');
  }
}
