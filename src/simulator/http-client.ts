/** The simulator's HTTP calls to the running server, with a timeout and messages a person can act on. */

export class SimulationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationError';
  }
}

export interface HttpAnswer {
  status: number;
  contentType: string;
  text: string;
}

const TIMEOUT_MS = 15_000;

function unreachable(baseUrl: string, err: unknown): SimulationError {
  const c = (err as { cause?: { code?: string; message?: string } }).cause;
  const cause = c?.code ?? c?.message ?? (err as Error).message;
  return new SimulationError(
    `cannot reach flowguard at ${baseUrl} (${cause}). Start it with \`npm start\` (or \`flowguard serve\`), or pass --base-url.`,
  );
}

export function createHttpClient(baseUrl: string) {
  const base = baseUrl.replace(/\/+$/, '');
  async function request(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw unreachable(base, err);
    }
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
  }
  return {
    base,
    get: (path: string, headers?: Record<string, string>) => request('GET', path, undefined, headers),
    post: (path: string, body: string, headers: Record<string, string>) =>
      request('POST', path, body, headers),
  };
}

export type HttpClient = ReturnType<typeof createHttpClient>;

/** `code: message` of a flowguard error body, or the start of whatever came back. */
export function describeAnswer(a: HttpAnswer): string {
  try {
    const body = JSON.parse(a.text) as { error?: { code?: string; message?: string }; error_msg?: string };
    if (body.error?.code) return `${a.status} ${body.error.code}: ${body.error.message ?? ''}`.trim();
    if (body.error_msg) return `${a.status}: ${body.error_msg}`;
  } catch {
    // not JSON
  }
  return `${a.status} ${a.text.slice(0, 120)}`.trim();
}
