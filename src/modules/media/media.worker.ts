import type { Job } from 'pg-boss';
import type { AppContext } from '../../app/context.js';
import { deleteMediaObject, sweepMediaDeletions } from './delete-media.js';
import { fetchMedia } from './fetch-media.js';
import { createGraphMediaClient } from './graph-media.js';
import { openMediaStore } from './open-media-store.js';
import { MEDIA_DELETE_QUEUE, MEDIA_FETCH_QUEUE, MEDIA_SWEEP_QUEUE } from './queue-media.js';

const text = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * The media workers: downloads (`media.fetch`, one at a time: files are up to 100 MB), deletions queued by
 * erasures (`media.delete`), and the deletion-journal sweep (`media.sweep`, every 5 minutes and at start) for
 * rows removed by retention, tenant removal or anything else.
 */
export async function startMediaWorkers(ctx: AppContext): Promise<void> {
  const store = openMediaStore(ctx.config);
  const deps = {
    database: ctx.database,
    subjectKeys: ctx.subjectKeys,
    tenants: ctx.tenants,
    logger: ctx.logger,
    clock: ctx.clock,
    store,
    graph: createGraphMediaClient({ baseUrl: ctx.config.graphUrl }),
  };
  await ctx.queue.work(
    MEDIA_FETCH_QUEUE,
    { pollingIntervalSeconds: 0.5, batchSize: 1 },
    async (jobs: Job<{ mediaRowId?: unknown }>[]) => {
      for (const job of jobs) {
        const outcome = await ctx.queue.claims.run(MEDIA_FETCH_QUEUE, job.id, () =>
          fetchMedia(deps, text(job.data.mediaRowId)),
        );
        ctx.logger.debug({ media: text(job.data.mediaRowId), outcome }, 'media fetch');
      }
    },
  );
  await ctx.queue.work(
    MEDIA_DELETE_QUEUE,
    { pollingIntervalSeconds: 0.5, batchSize: 20 }, // idempotent, so a failed batch may simply run again
    async (jobs: Job<{ storageKey?: unknown }>[]) => {
      for (const job of jobs) await deleteMediaObject(deps, text(job.data.storageKey));
    },
  );
  await ctx.queue.boss.schedule(MEDIA_SWEEP_QUEUE, '*/5 * * * *', {}, { tz: 'UTC' });
  await ctx.queue.work(MEDIA_SWEEP_QUEUE, { pollingIntervalSeconds: 2, batchSize: 1 }, async () => {
    const handled = await sweepMediaDeletions(deps);
    if (handled) ctx.logger.info({ objects: handled }, 'media deletion journal drained');
  });
  await ctx.queue.send(ctx.database.db, MEDIA_SWEEP_QUEUE, {});
}
