import { S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import type { S3rverInstance } from './s3rver.js';

/**
 * The business's own stores on this machine's services, as the data-map tests and the benchmark harness
 * fill them: a MariaDB database, Redis keys under a prefix of the run, and a client of the local S3 server.
 * Nothing here imports vitest, so the harness (bench/) can use it too.
 */

const MARIADB_ROOT = { host: '127.0.0.1', port: 3306, user: 'root' } as const;

export interface MariaDatabase {
  name: string;
  /** Its connection URL (root): for mysql2, and for a `type: mysql` system of the data map. */
  url: string;
  drop(): Promise<void>;
}

/** A new MariaDB database `name` on 127.0.0.1:3306 (root) with `tables` (create table statements) in it. */
export async function createMariaDatabase(name: string, tables: string[]): Promise<MariaDatabase> {
  const root = await mysql.createConnection(MARIADB_ROOT);
  try {
    await root.query(`create database ${name}`);
    await root.query(`use ${name}`);
    for (const table of tables) await root.query(table);
  } finally {
    await root.end();
  }
  return {
    name,
    url: `mysql://root@127.0.0.1:3306/${name}`,
    async drop() {
      const c = await mysql.createConnection(MARIADB_ROOT);
      await c.query(`drop database if exists ${name}`);
      await c.end();
    },
  };
}

/** A connected client of Redis on 127.0.0.1:6379. */
export async function connectRedis(): Promise<Redis> {
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await redis.connect();
  return redis;
}

/** Delete every key under `prefix` (what one run wrote) and disconnect; nothing for a client never made. */
export async function closeRedis(redis: Redis | undefined, prefix: string): Promise<void> {
  if (!redis) return;
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
}

/** An S3 client of the local s3rver (path-style, its credentials, checksums only where S3 requires them). */
export function s3rverClient(s3: S3rverInstance): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}
