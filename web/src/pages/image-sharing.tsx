import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorMessage } from '../ui.js';

/** What the owner sees of an image's sharing choices (GET and PATCH /images/{id}). */
interface Sharing {
  shareLocation: boolean;
  shareTakenAt: boolean;
  hasGps: boolean | null;
  takenAt: string | null;
}

/** The owner's choice of whether everyone sees where and when their photo was taken (off by default). */
export function ImageSharing({ imageId }: { imageId: string }) {
  const [sharing, setSharing] = useState<Sharing | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const path = `/images/${encodeURIComponent(imageId)}`;
  useEffect(() => {
    api<Sharing>(path).then(setSharing, setError);
  }, [imageId]);

  const choose = async (change: Partial<Pick<Sharing, 'shareLocation' | 'shareTakenAt'>>) => {
    const before = sharing;
    // Shown at once (the box stays as clicked), put back if the server refuses.
    setSharing((shown) => shown && { ...shown, ...change });
    setBusy(true);
    setError(null);
    try {
      setSharing(await api<Sharing>(path, { method: 'PATCH', body: change }));
    } catch (failure) {
      setSharing(before);
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  if (!sharing) return <ErrorMessage error={error} />;
  return (
    <fieldset class="stack">
      <legend>Who sees where and when this photo was taken</legend>
      <p>Only you, unless you choose otherwise.</p>
      <label>
        <input
          type="checkbox"
          checked={sharing.shareTakenAt}
          disabled={busy}
          onChange={(event) => void choose({ shareTakenAt: event.currentTarget.checked })}
        />{' '}
        Show everyone when it was taken{sharing.takenAt ? '' : ' (the photo does not say)'}
      </label>
      <label>
        <input
          type="checkbox"
          checked={sharing.shareLocation}
          disabled={busy}
          onChange={(event) => void choose({ shareLocation: event.currentTarget.checked })}
        />{' '}
        Show everyone where it was taken{sharing.hasGps ? '' : ' (the photo has no location)'}
      </label>
      <ErrorMessage error={error} />
    </fieldset>
  );
}
