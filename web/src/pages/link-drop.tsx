import { useState } from 'preact/hooks';
import { errorOf } from '../api.js';
import { ErrorMessage, Page } from '../ui.js';
import { DropZone } from './upload.js';

interface LinkResult {
  processed: { name: string; id: string; size: number; duplicate: boolean }[];
  failed: { name: string; code: string; detail: string }[];
}

/** For guests holding an upload link: drop images, see which were taken and why others were not. */
export function LinkDropPage({ token }: { token: string }) {
  const [results, setResults] = useState<LinkResult[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const send = async (files: File[]) => {
    const form = new FormData();
    for (const file of files) form.append('file', file, file.name);
    setBusy(true);
    setError(null);
    try {
      const response = await fetch(`/links/${encodeURIComponent(token)}`, { method: 'POST', headers: { accept: 'application/json' }, body: form });
      if (!response.ok) throw await errorOf(response);
      const result = (await response.json()) as LinkResult;
      setResults((earlier) => [result, ...earlier]);
    } catch (failure) {
      setError(failure instanceof TypeError ? new Error('The server cannot be reached: check your connection and try again.') : failure);
    } finally {
      setBusy(false);
    }
  };
  const processed = results.flatMap((result) => result.processed);
  const failed = results.flatMap((result) => result.failed);
  return (
    <Page title="Send images">
      <p>Someone shared this link so you can send them images. No account needed.</p>
      <DropZone label="Choose images, or drop them here" multiple disabled={busy} onFiles={(files) => void send(files)} />
      {busy && <p aria-live="polite">Sending…</p>}
      <ErrorMessage error={error} />
      <div aria-live="polite">
        {processed.length > 0 && (
          <>
            <h2>Received</h2>
            <ul class="accepted">
              {processed.map((item) => (
                <li key={item.id + item.name}>
                  {item.name}: received{item.duplicate ? ' (already sent before)' : ''}
                </li>
              ))}
            </ul>
          </>
        )}
        {failed.length > 0 && (
          <>
            <h2>Not accepted</h2>
            <ul class="refused">
              {failed.map((item, index) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: the list only grows at its end, so an index names one item for good.
                <li key={index}>
                  {item.name}: {item.detail}
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
    </Page>
  );
}
