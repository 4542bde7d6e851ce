import type { Image } from './image.js';

/** The EXIF facts of an image as one viewer may see them; null where hidden from that viewer. */
export interface VisiblePhotoFacts {
  cameraMake: string | null;
  cameraModel: string | null;
  /** Epoch ms; null when unknown or hidden. */
  takenAt: number | null;
  /** Null when hidden: even "this photo has a location" is the owner's to know. */
  hasGps: boolean | null;
  gps: { latitude: number; longitude: number } | null;
}

/** An image as one viewer may see it: every transport presents `visible`, never the raw EXIF fields. */
export interface SeenImage extends Image {
  visible: VisiblePhotoFacts;
}

/**
 * The one rule on who sees which image metadata. The owner sees everything. Anyone else sees the
 * camera (make and model say nothing about where or when) but not when the photo was taken, not
 * its GPS position, and not whether it has one: where and when a photo was taken can place a
 * person. There is no per-image or per-user opt-in to share them yet. The raw fields are cleared
 * too, so code that forgets `visible` still cannot leak them.
 */
export function imageAsSeenBy(image: Image, viewerId: string | null): SeenImage {
  if (viewerId === image.ownerId) {
    const gps = image.gpsLatitude !== null && image.gpsLongitude !== null ? { latitude: image.gpsLatitude, longitude: image.gpsLongitude } : null;
    return { ...image, visible: { cameraMake: image.cameraMake, cameraModel: image.cameraModel, takenAt: image.takenAt, hasGps: image.hasGps, gps } };
  }
  return {
    ...image,
    takenAt: null,
    hasGps: false,
    gpsLatitude: null,
    gpsLongitude: null,
    visible: { cameraMake: image.cameraMake, cameraModel: image.cameraModel, takenAt: null, hasGps: null, gps: null },
  };
}
