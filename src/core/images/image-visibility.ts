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
 * camera (make and model say nothing about where or when), but when the photo was taken and where
 * (its GPS position, and even whether it has one) only once the owner has chosen to share that,
 * per image (`sharesTakenAt`, `sharesLocation`; both off by default): where and when a photo was
 * taken can place a person. Hidden raw fields are cleared too, so code that forgets `visible`
 * still cannot leak them.
 */
export function imageAsSeenBy(image: Image, viewerId: string | null): SeenImage {
  const isOwner = viewerId === image.ownerId;
  const seesTakenAt = isOwner || image.sharesTakenAt;
  const seesLocation = isOwner || image.sharesLocation;
  const gps = seesLocation && image.gpsLatitude !== null && image.gpsLongitude !== null ? { latitude: image.gpsLatitude, longitude: image.gpsLongitude } : null;
  return {
    ...image,
    takenAt: seesTakenAt ? image.takenAt : null,
    hasGps: seesLocation ? image.hasGps : false,
    gpsLatitude: gps?.latitude ?? null,
    gpsLongitude: gps?.longitude ?? null,
    visible: {
      cameraMake: image.cameraMake,
      cameraModel: image.cameraModel,
      takenAt: seesTakenAt ? image.takenAt : null,
      hasGps: seesLocation ? image.hasGps : null,
      gps,
    },
  };
}
