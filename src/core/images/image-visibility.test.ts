import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Image } from './image.js';
import { imageAsSeenBy } from './image-visibility.js';

const photo: Image = {
  id: 'img',
  ownerId: 'owner',
  sha256: 'ab'.repeat(32),
  format: 'jpeg',
  width: 4000,
  height: 3000,
  size: 1234,
  status: 'ready',
  createdAt: 1_700_000_000_000,
  uploadCompletedAt: 1_700_000_000_000,
  metadataExtractedAt: 1_700_000_000_100,
  cameraMake: 'Canon',
  cameraModel: 'EOS 5D',
  takenAt: 1_623_764_730_000,
  hasGps: true,
  gpsLatitude: 48.85,
  gpsLongitude: 2.35,
  sharesLocation: false,
  sharesTakenAt: false,
};
const camera = { cameraMake: 'Canon', cameraModel: 'EOS 5D' };
const everything = { ...camera, takenAt: photo.takenAt, hasGps: true, gps: { latitude: 48.85, longitude: 2.35 } };
const cameraOnly = { ...camera, takenAt: null, hasGps: null, gps: null };

describe('imageAsSeenBy: who sees which metadata', () => {
  test('the owner sees everything, shared or not', () => {
    for (const sharing of [{}, { sharesLocation: true, sharesTakenAt: true }]) {
      const seen = imageAsSeenBy({ ...photo, ...sharing }, 'owner');
      assert.deepEqual(seen.visible, everything);
      assert.equal(seen.takenAt, photo.takenAt);
      assert.equal(seen.gpsLatitude, 48.85);
    }
  });

  test('by default, anyone else (signed in or not) sees the camera only, and the raw fields are cleared', () => {
    for (const viewer of ['someone', null]) {
      const seen = imageAsSeenBy(photo, viewer);
      assert.deepEqual(seen.visible, cameraOnly);
      assert.equal(seen.takenAt, null);
      assert.equal(seen.hasGps, false);
      assert.equal(seen.gpsLatitude, null);
      assert.equal(seen.gpsLongitude, null);
    }
  });

  test('sharing the time shows the time only; sharing the location shows the position only', () => {
    const time = imageAsSeenBy({ ...photo, sharesTakenAt: true }, 'someone');
    assert.deepEqual(time.visible, { ...cameraOnly, takenAt: photo.takenAt });
    assert.equal(time.gpsLatitude, null);
    const place = imageAsSeenBy({ ...photo, sharesLocation: true }, null);
    assert.deepEqual(place.visible, { ...cameraOnly, hasGps: true, gps: { latitude: 48.85, longitude: 2.35 } });
    assert.equal(place.takenAt, null);
    assert.deepEqual(imageAsSeenBy({ ...photo, sharesLocation: true, sharesTakenAt: true }, 'someone').visible, everything);
  });

  test('a shared location of a photo without GPS says so: hasGps false, no position', () => {
    const seen = imageAsSeenBy({ ...photo, hasGps: false, gpsLatitude: null, gpsLongitude: null, sharesLocation: true }, 'someone');
    assert.deepEqual(seen.visible, { ...cameraOnly, hasGps: false });
  });
});
