import type { Repositories } from '../../ports/store-slice.js';
import type { StatsProjection } from './stats-projection.js';
import { utcDay } from './stats-projection.js';
import type { UploadStats } from './upload-stats.js';

const dayMs = 86_400_000;

/** The admin statistics (`GET /admin/stats`, `imagegram stats`). */
export class StatsService {
  constructor(
    private readonly deps: { store: Repositories<'stats'>; projection: StatsProjection },
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The stats as of now: the projection is first brought up to the end of the event log (a
   * background job keeps it close, so this is usually a no-op), so an upload a moment ago counts.
   */
  async read(): Promise<UploadStats> {
    const { store, projection } = this.deps;
    await projection.catchUp();
    const today = Math.floor(this.now() / dayMs) * dayMs;
    const days = Array.from({ length: 30 }, (_, index) => utcDay(today - index * dayMs));
    const [formats, models, dayCounts] = await Promise.all([
      store.stats.top('format', 1),
      store.stats.top('camera_model', 10),
      store.stats.values('day', days),
    ]);
    const perDay = new Map(dayCounts.map((counter) => [counter.value, counter.uploads]));
    const popular = formats[0];
    return {
      popularFormat: popular ? { format: popular.value, uploads: popular.uploads } : null,
      top10CameraModels: models.map((counter) => ({ model: counter.value, uploads: counter.uploads })),
      uploadFrequency30Days: days.map((date) => ({ date, uploads: perDay.get(date) ?? 0 })),
    };
  }
}
