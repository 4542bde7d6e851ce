/** The admin statistics (`GET /admin/stats`), counted over images, not blobs. */
export interface UploadStats {
  /** The format with the most images, or null when there are none. */
  popularFormat: { format: string; uploads: number } | null;
  /** The ten camera models with the most images, most first (images without EXIF model are not counted). */
  top10CameraModels: { model: string; uploads: number }[];
  /** Images created on each of the last 30 UTC days, today first, days without uploads included as 0. */
  uploadFrequency30Days: { date: string; uploads: number }[];
}

/** The counters the stats projection keeps, one per (dimension, value). */
export type StatsDimension = 'format' | 'camera_model' | 'day';

/** A change to one counter. */
export interface CounterDelta {
  dimension: StatsDimension;
  value: string;
  delta: number;
}

/** A counter's current value. */
export interface Counter {
  value: string;
  uploads: number;
}
