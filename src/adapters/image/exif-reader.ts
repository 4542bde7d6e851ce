import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import exifr from 'exifr';
import sharp from 'sharp';
import { type ImageFormat, noPhotoMetadata, type PhotoMetadata } from '../../core/images/image.js';

// exifr finds EXIF in these containers itself, reading the file in small chunks.
const exifrContainers: ReadonlySet<ImageFormat> = new Set(['jpeg', 'png', 'tiff']);
// exifr cannot find it in WebP or (libheif's) AVIF: libvips extracts the block, exifr parses it.
const libvipsContainers: ReadonlySet<ImageFormat> = new Set(['webp', 'avif']);
// BMP and GIF have no EXIF at all.
const tags = ['Make', 'Model', 'DateTimeOriginal', 'CreateDate', 'GPSLatitude', 'GPSLatitudeRef', 'GPSLongitude', 'GPSLongitudeRef'];

/**
 * Camera make/model, taken-at and GPS position from the EXIF of the file at `path`. Reads only
 * the start of the file, never the pixels. Absent or broken EXIF gives empties; a file-system
 * error (the file cannot be opened or read) is thrown, for the caller to retry.
 */
export async function readPhotoMetadata(path: string, format: ImageFormat): Promise<PhotoMetadata> {
  let raw: Record<string, unknown> | undefined;
  try {
    raw = await readExifTags(path, format);
  } catch (error) {
    // Node's file-system errors carry an errno code (ENOENT, EIO, EMFILE); exifr's parse errors do not.
    if (isFileSystemError(error)) throw error;
    return { ...noPhotoMetadata };
  }
  if (!raw) return { ...noPhotoMetadata };
  const gpsLatitude = coordinate(raw.GPSLatitude, raw.GPSLatitudeRef, 'S', 90);
  const gpsLongitude = coordinate(raw.GPSLongitude, raw.GPSLongitudeRef, 'W', 180);
  const hasGps = gpsLatitude !== null && gpsLongitude !== null;
  return {
    cameraMake: text(raw.Make),
    cameraModel: text(raw.Model),
    takenAt: exifDate(raw.DateTimeOriginal) ?? exifDate(raw.CreateDate),
    hasGps,
    gpsLatitude: hasGps ? gpsLatitude : null,
    gpsLongitude: hasGps ? gpsLongitude : null,
  };
}

async function readExifTags(path: string, format: ImageFormat): Promise<Record<string, unknown> | undefined> {
  // reviveValues: false keeps dates as the EXIF strings; exifr would read them in the server's zone.
  const options = { pick: tags, reviveValues: false };
  if (exifrContainers.has(format)) return exifr.parse(path, options);
  if (!libvipsContainers.has(format)) return undefined;
  // libvips' errors carry no errno code: a file that cannot be opened must fail here, as it does in exifr.
  await access(path, constants.R_OK);
  const { exif } = await sharp(path).metadata();
  if (!exif) return undefined;
  // libvips keeps the "Exif\0\0" marker of the APP1 segment; exifr wants the TIFF structure after it.
  const tiff = exif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? exif.subarray(6) : exif;
  return exifr.parse(tiff, options);
}

function isFileSystemError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

function text(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  // Cameras pad fixed-size fields with NULs or spaces.
  const trimmed = value.replace(/\0/g, '').trim();
  return trimmed === '' ? null : trimmed;
}

/** "YYYY:MM:DD HH:MM:SS" as epoch ms, the camera's local time read as UTC (EXIF rarely has a zone). */
function exifDate(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const match = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(value.trim());
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  if (year < 1800 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 31 February over into March; refuse instead.
  return new Date(ms).getUTCDate() === day ? ms : null;
}

/** Degrees/minutes/seconds plus a hemisphere letter as signed decimal degrees, or null. */
function coordinate(dms: unknown, ref: unknown, negative: string, max: number): number | null {
  const parts = Array.isArray(dms) ? dms : typeof dms === 'number' ? [dms] : null;
  if (!parts || parts.length === 0 || !parts.every((p) => typeof p === 'number' && Number.isFinite(p))) return null;
  const [degrees = 0, minutes = 0, seconds = 0] = parts as number[];
  const value = degrees + minutes / 60 + seconds / 3600;
  if (value > max) return null;
  return typeof ref === 'string' && ref.trim().toUpperCase() === negative ? -value : value;
}
