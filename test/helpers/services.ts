import net from 'node:net';

export const SERVICE_PORTS = { postgres: 5432, mariadb: 3306, redis: 6379 } as const;

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Whether something accepts connections on the port: three tries, 1.5 s each, a second apart, so that a loaded
 * machine (where CI=true turns a missing service into a failure) is not taken for one without the service.
 */
async function reachable(port: number): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 1000));
    if (await connects(port)) return true;
  }
  return false;
}

export async function probeServices(): Promise<{ postgres: boolean; mariadb: boolean; redis: boolean }> {
  const [postgres, mariadb, redis] = await Promise.all([
    reachable(SERVICE_PORTS.postgres),
    reachable(SERVICE_PORTS.mariadb),
    reachable(SERVICE_PORTS.redis),
  ]);
  return { postgres, mariadb, redis };
}

export const PG_ADMIN_URL =
  process.env.FLOWGUARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
