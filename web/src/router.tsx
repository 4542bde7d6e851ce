// A tiny history-API router: the server answers every app path with the same page.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** Goes to an app path without reloading the page. */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.dispatchEvent(new Event('imagegram:navigate'));
  window.scrollTo(0, 0);
}

/** The current path, updated on navigation and on back/forward. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    window.addEventListener('popstate', update);
    window.addEventListener('imagegram:navigate', update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener('imagegram:navigate', update);
    };
  }, []);
  return path;
}

/** An ordinary link (so it opens in a new tab and works without JavaScript's help) that navigates in place. */
export function Link({ href, children, class: className }: { href: string; children: ComponentChildren; class?: string }) {
  const onClick = (event: MouseEvent) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={onClick} class={className}>
      {children}
    </a>
  );
}
