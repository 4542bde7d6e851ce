import { useEffect, useRef, useState } from 'preact/hooks';
import { defaultOptions, type DetailedError, type PreviousUpload, Upload } from 'tus-js-client';
import { api, authHeaders, type Post } from '../api.js';
import { navigate } from '../router.js';
import { useUser } from '../session.js';
import { ErrorMessage, Page, when } from '../ui.js';

/**
 * Chunks keep what a dropped connection costs small (the server keeps every byte it received,
 * and the next request starts from its offset) and show progress on proxies that buffer bodies.
 */
const chunkSize = 2 * 1024 * 1024;

/** The problem+json detail of a tus failure, or the library's own message. */
function tusErrorMessage(error: Error | DetailedError): string {
  const response = 'originalResponse' in error ? error.originalResponse : null;
  if (response) {
    try {
      const problem = JSON.parse(response.getBody()) as { detail?: string };
      if (problem.detail) return problem.detail;
    } catch {
      // tus's own protocol errors are plain text.
    }
    const body = response.getBody().trim();
    if (body) return body;
  }
  return navigator.onLine ? 'The upload failed: try again.' : 'You are offline.';
}

type Stage =
  | { kind: 'idle' }
  | { kind: 'uploading'; name: string; sent: number; total: number; note: string }
  | { kind: 'uploaded'; name: string; uploadId: string };

/** Resumable upload (tus) with a progress bar, then a caption, then the post. */
export function UploadPage() {
  const user = useUser();
  const [stage, setStage] = useState<Stage>({ kind: 'idle' });
  const [error, setError] = useState<unknown>(null);
  const [unfinished, setUnfinished] = useState<PreviousUpload[]>([]);
  const [posting, setPosting] = useState(false);
  const current = useRef<Upload | null>(null);
  const fingerprintPrefix = `imagegram-${user?.id ?? ''}-`;

  const refreshUnfinished = async () => {
    const all = await defaultOptions.urlStorage.findAllUploads();
    setUnfinished(all.filter((upload) => upload.urlStorageKey.includes(`::${fingerprintPrefix}`)));
  };
  useEffect(() => {
    void refreshUnfinished();
    // Without this, an upload left running when the page is left keeps sending in the background.
    return () => void current.current?.abort();
  }, [user?.id]);

  // A connection that comes back restarts an upload that gave up while offline: from the server's offset.
  useEffect(() => {
    const resume = () => {
      if (current.current && stage.kind === 'uploading') {
        setError(null);
        setStage((now) => (now.kind === 'uploading' ? { ...now, note: 'Back online: resuming…' } : now));
        current.current.start();
      }
    };
    window.addEventListener('online', resume);
    return () => window.removeEventListener('online', resume);
  }, [stage.kind]);

  if (!user) {
    return (
      <Page title="Upload">
        <p>Log in to upload images.</p>
      </Page>
    );
  }

  const start = async (file: File) => {
    setError(null);
    const upload = new Upload(file, {
      endpoint: `${location.origin}/uploads`,
      headers: authHeaders(),
      chunkSize,
      metadata: { filename: file.name, filetype: file.type },
      // Per user: another account on this browser must not try to resume this one's uploads.
      fingerprint: async (input) => {
        const f = input as File;
        return [fingerprintPrefix, f.name, f.type, f.size, f.lastModified].join('-');
      },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      retryDelays: [0, 1000, 3000, 5000, 10_000, 20_000],
      onShouldRetry: (failure) => {
        const status = failure.originalResponse?.getStatus() ?? 0;
        const retry = navigator.onLine && (status === 0 || status >= 500 || status === 409 || status === 423 || status === 429);
        if (retry) setStage((now) => (now.kind === 'uploading' ? { ...now, note: 'Connection interrupted: retrying…' } : now));
        return retry;
      },
      onProgress: (sent, total) => setStage((now) => (now.kind === 'uploading' ? { ...now, sent, total, note: '' } : now)),
      onSuccess: () => {
        const uploadId = upload.url!.split('/').pop()!;
        setStage({ kind: 'uploaded', name: file.name, uploadId });
        void refreshUnfinished();
      },
      onError: (failure) => {
        if (!navigator.onLine) {
          setStage((now) => (now.kind === 'uploading' ? { ...now, note: 'Connection lost: the upload resumes when you are back online.' } : now));
          return;
        }
        setError(new Error(tusErrorMessage(failure)));
        setStage((now) => (now.kind === 'uploading' ? { ...now, note: 'Stopped.' } : now));
      },
    });
    current.current = upload;
    const previous = await upload.findPreviousUploads();
    const resumed = previous[0];
    if (resumed) upload.resumeFromPreviousUpload(resumed);
    setStage({ kind: 'uploading', name: file.name, sent: 0, total: file.size, note: resumed ? 'Resuming your earlier upload…' : 'Starting…' });
    upload.start();
  };

  const post = async (event: SubmitEvent) => {
    event.preventDefault();
    if (stage.kind !== 'uploaded') return;
    const caption = String(new FormData(event.currentTarget as HTMLFormElement).get('caption') ?? '');
    setPosting(true);
    setError(null);
    try {
      // The key is the upload's: a retry after a lost answer replays the post instead of failing.
      const created = await api<Post>('/posts', {
        method: 'POST',
        body: { caption, uploadId: stage.uploadId },
        headers: { 'idempotency-key': `upload-${stage.uploadId}` },
      });
      navigate(`/p/${created.id}`);
    } catch (failure) {
      setError(failure);
    } finally {
      setPosting(false);
    }
  };

  const discard = async (previous: PreviousUpload) => {
    if (previous.uploadUrl) await Upload.terminate(previous.uploadUrl, { headers: authHeaders() }).catch(() => undefined);
    await defaultOptions.urlStorage.removeUpload(previous.urlStorageKey);
    await refreshUnfinished();
  };

  const percent = stage.kind === 'uploading' && stage.total > 0 ? Math.floor((stage.sent / stage.total) * 100) : 0;
  return (
    <Page title="Upload">
      {stage.kind !== 'uploaded' && (
        <DropZone
          label="Choose an image, or drop it here"
          multiple={false}
          disabled={stage.kind === 'uploading'}
          onFiles={(files) => files[0] && void start(files[0])}
        />
      )}
      {stage.kind === 'uploading' && (
        <div class="progress">
          <label for="upload-progress">
            {stage.name}: {percent}%
          </label>
          <progress id="upload-progress" max={stage.total} value={stage.sent} aria-valuetext={`${percent}%`} />
          <p aria-live="polite" class="note">
            {stage.note}
          </p>
        </div>
      )}
      <ErrorMessage error={error} />
      {stage.kind === 'uploaded' && (
        <form onSubmit={post} class="stack">
          <p role="status">{stage.name} is uploaded.</p>
          <label>
            Caption
            <textarea name="caption" required maxLength={2000} rows={2} />
          </label>
          <button type="submit" disabled={posting}>
            Post
          </button>
        </form>
      )}
      {unfinished.length > 0 && stage.kind === 'idle' && (
        <>
          <h2>Unfinished uploads</h2>
          <p>Choose the same file again to resume where it stopped.</p>
          <ul>
            {unfinished.map((previous) => (
              <li key={previous.urlStorageKey}>
                {previous.metadata.filename ?? 'an image'} (started {when(previous.creationTime)}){' '}
                <button type="button" class="link" onClick={() => void discard(previous)}>
                  Discard
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </Page>
  );
}

/** A file input that is also a drop target; the input keeps it usable by keyboard and screen readers. */
export function DropZone(props: { label: string; multiple: boolean; disabled?: boolean; onFiles: (files: File[]) => void }) {
  const [over, setOver] = useState(false);
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: the drop target is for mice; the file input inside is the keyboard's way in.
    <div
      class={`dropzone${over ? ' over' : ''}`}
      onDragOver={(event) => {
        event.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(event) => {
        event.preventDefault();
        setOver(false);
        if (!props.disabled) props.onFiles([...(event.dataTransfer?.files ?? [])]);
      }}
    >
      <label>
        {props.label}
        <input
          type="file"
          accept="image/*"
          multiple={props.multiple}
          disabled={props.disabled}
          onChange={(event) => {
            const input = event.currentTarget;
            const files = [...(input.files ?? [])];
            input.value = '';
            if (files.length > 0) props.onFiles(files);
          }}
        />
      </label>
    </div>
  );
}
