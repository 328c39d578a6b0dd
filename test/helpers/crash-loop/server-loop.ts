import { startServe, type ServeProcess } from '../cli.js';

/**
 * One `flowguard serve` at a time on a fixed port, killed with SIGKILL (no drain, no shutdown: as on a power cut
 * or an OOM kill) and started again with the same environment. Clients keep the address across restarts.
 */
export class ServerLoop {
  private current: ServeProcess | undefined;
  private readonly outputs: string[] = [];
  readonly startupMs: number[] = [];
  restarts = 0;
  lastStartedAt = 0;

  constructor(
    private readonly env: Record<string, string | undefined>,
    private readonly cwd: string,
    private readonly port: number,
  ) {}

  async start(): Promise<void> {
    const t0 = Date.now();
    this.current = await startServe(this.env, this.cwd, 120_000, this.port);
    this.lastStartedAt = Date.now();
    this.startupMs.push(this.lastStartedAt - t0);
    if (this.startupMs.length > 1) this.restarts++;
  }

  async kill(): Promise<void> {
    const s = this.current;
    if (!s) return;
    this.current = undefined;
    await s.stop('SIGKILL');
    this.outputs.push(s.stdout() + s.stderr());
  }

  /** SIGTERM: drains and exits; resolves with the exit code (undefined when nothing ran). */
  async stop(): Promise<number | null | undefined> {
    const s = this.current;
    if (!s) return undefined;
    this.current = undefined;
    const code = await s.stop('SIGTERM');
    this.outputs.push(s.stdout() + s.stderr());
    return code;
  }

  output(): string {
    return this.outputs.join('\n') + (this.current ? this.current.stdout() + this.current.stderr() : '');
  }
}
