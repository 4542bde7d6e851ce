import type { ComponentChildren } from 'preact';
import { ApiError } from './api.js';

/** An error as a person reads it: the server's problem detail, or what went wrong here. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

export function Page({ title, children }: { title: string; children: ComponentChildren }) {
  document.title = `${title} · imagegram`;
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">{title}</h1>
      {children}
    </section>
  );
}

/** A short local date and time. */
export function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
