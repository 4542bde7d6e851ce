/** Formats we accept, detected from the bytes. */
export const imageFormats = ['png', 'jpeg', 'bmp', 'webp', 'gif', 'tiff', 'avif'] as const;
export type ImageFormat = (typeof imageFormats)[number];

export type ImageStatus = 'pending' | 'ready' | 'failed';

/** Facts read from EXIF; all optional because most uploads carry little or none. */
export interface PhotoMetadata {
  cameraMake: string | null;
  cameraModel: string | null;
  /** Epoch ms of DateTimeOriginal (camera local time read as UTC: EXIF usually has no zone). */
  takenAt: number | null;
  hasGps: boolean;
  gpsLatitude: number | null;
  gpsLongitude: number | null;
}

/** What an image without EXIF (or before it is read) has: nothing. */
export const noPhotoMetadata: Readonly<PhotoMetadata> = Object.freeze({
  cameraMake: null,
  cameraModel: null,
  takenAt: null,
  hasGps: false,
  gpsLatitude: null,
  gpsLongitude: null,
});

/** One user's upload of one blob. */
export interface Image extends PhotoMetadata {
  id: string;
  ownerId: string;
  sha256: string;
  format: ImageFormat;
  width: number;
  height: number;
  /** Bytes of the original. */
  size: number;
  status: ImageStatus;
  createdAt: number;
  uploadCompletedAt: number | null;
  /** When EXIF was read into this row (a background job after upload), or null while pending. */
  metadataExtractedAt: number | null;
  /** The owner lets everyone see where the photo was taken (GPS); off until they choose it. */
  sharesLocation: boolean;
  /** The owner lets everyone see when the photo was taken; off until they choose it. */
  sharesTakenAt: boolean;
}

/** What a new image shares: nothing beyond the camera until its owner chooses otherwise. */
export const ownerOnlySharing: Readonly<Pick<Image, 'sharesLocation' | 'sharesTakenAt'>> = Object.freeze({ sharesLocation: false, sharesTakenAt: false });

/** An owner's choice of what others may see of an image's metadata; an absent field stays as it is. */
export interface ImageSharing {
  location?: boolean;
  takenAt?: boolean;
}

/** What the header says, read without decoding pixels. */
export interface ImageProbe {
  format: ImageFormat;
  width: number;
  height: number;
  /**
   * Bytes of memory rendering this image will hold at its peak, estimated from the header by the
   * decoder that knows how it decodes (a whole frame, or a few rows at a time): what a decode
   * reserves from the DecodeBudget.
   */
  decodeBytes: number;
}
