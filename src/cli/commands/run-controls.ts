import crypto from 'node:crypto';

/**
 * What a long store command run in this process can be given beyond its JSON args: a progress callback (to
 * stderr) and an AbortSignal wired to SIGINT. The args carry only a token for them; through the admin socket
 * the token finds nothing here, so the command runs to its end and reports once.
 */
export interface RunControls {
  signal?: AbortSignal;
  progress?: (line: string) => void;
}

const controls = new Map<string, RunControls>();

export function controlsFor(args: Record<string, unknown>): RunControls {
  return (typeof args.controls === 'string' ? controls.get(args.controls) : undefined) ?? {};
}

/** Run `fn` with a token for `controls`, Ctrl-C aborting the signal (a second Ctrl-C kills as usual). */
export async function withRunControls<T>(
  progress: (line: string) => void,
  fn: (token: string) => Promise<T>,
): Promise<T> {
  const token = crypto.randomUUID();
  const ac = new AbortController();
  const onSigint = () => {
    progress('stopping after the current batch (Ctrl-C again to kill)…');
    ac.abort();
    process.off('SIGINT', onSigint);
  };
  controls.set(token, { signal: ac.signal, progress });
  process.on('SIGINT', onSigint);
  try {
    return await fn(token);
  } finally {
    process.off('SIGINT', onSigint);
    controls.delete(token);
  }
}
