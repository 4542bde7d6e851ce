import { useEffect, useState } from 'preact/hooks';
import { api, graphql, type Image } from '../api.js';
import { useUser } from '../session.js';
import { ErrorMessage, Page } from '../ui.js';

interface Collection {
  id: string;
  name: string;
  images: { id: string; url: string }[];
}

const collectionFields = 'id name images { id url }';
/** The newest 50: with their image lists, 100 would pass the server's query cost limit. */
const collectionsShown = 50;

/** My images (newest first, paged) and my collections: create, rename, delete, add and remove images. */
export function LibraryPage() {
  const user = useUser();
  const [images, setImages] = useState<Image[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [imagesError, setImagesError] = useState<unknown>(null);
  const [collections, setCollections] = useState<Collection[]>([]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [error, setError] = useState<unknown>(null);

  const loadImages = async (after: string | null) => {
    setImagesError(null);
    try {
      const query = new URLSearchParams({ limit: '24' });
      if (after) query.set('cursor', after);
      const page = await api<{ images: Image[]; nextCursor: string | null }>(`/me/images?${query}`);
      setImages((shown) => (after ? [...shown, ...page.images] : page.images));
      setCursor(page.nextCursor);
    } catch (failure) {
      setImagesError(failure);
    }
  };
  const loadCollections = async () => {
    const data = await graphql<{ collections: { edges: { node: Collection }[] } }>(
      `{ collections(first: ${collectionsShown}) { edges { node { ${collectionFields} } } } }`,
    );
    setCollections(data.collections.edges.map((edge) => edge.node));
  };
  /** Runs a change, then shows the collections as the server has them. */
  const change = async (run: () => Promise<unknown>) => {
    setError(null);
    try {
      await run();
      await loadCollections();
    } catch (failure) {
      setError(failure);
    }
  };
  useEffect(() => {
    if (!user) return;
    void loadImages(null);
    void change(async () => undefined);
  }, [user?.id]);

  if (!user) {
    return (
      <Page title="My images">
        <p>Log in to see your images and collections.</p>
      </Page>
    );
  }
  const toggle = (id: string) =>
    setSelected((now) => {
      const next = new Set(now);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <Page title="My images">
      <ErrorMessage error={imagesError} />
      <ul class="grid" aria-label="My images">
        {images.map((image) => (
          <li key={image.id}>
            <label>
              <img
                src={image.url}
                width={150}
                height={150}
                loading="lazy"
                alt={`Your ${image.format.toUpperCase()} upload of ${new Date(image.createdAt).toLocaleDateString()}`}
              />
              <input type="checkbox" checked={selected.has(image.id)} onChange={() => toggle(image.id)} /> Select
            </label>
          </li>
        ))}
      </ul>
      {cursor && (
        <button type="button" onClick={() => void loadImages(cursor)}>
          More images
        </button>
      )}

      <h2>Collections</h2>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          const form = event.currentTarget as HTMLFormElement;
          const name = String(new FormData(form).get('name') ?? '');
          void change(async () => {
            await graphql(`mutation ($name: String!) { createCollection(name: $name) { id } }`, { name });
            form.reset();
          });
        }}
      >
        <label>
          New collection <input name="name" required maxLength={100} />
        </label>
        <button type="submit">Create</button>
      </form>
      <ErrorMessage error={error} />
      {collections.map((collection) => (
        <section key={collection.id} class="collection" aria-label={`Collection ${collection.name}`}>
          <form
            class="inline"
            onSubmit={(event) => {
              event.preventDefault();
              const name = String(new FormData(event.currentTarget as HTMLFormElement).get('name') ?? '');
              void change(() => graphql(`mutation ($id: ID!, $name: String!) { renameCollection(id: $id, name: $name) { id } }`, { id: collection.id, name }));
            }}
          >
            <label>
              Name <input name="name" defaultValue={collection.name} required maxLength={100} />
            </label>
            <button type="submit">Rename</button>
            <button
              type="button"
              disabled={selected.size === 0}
              onClick={() =>
                void change(() =>
                  graphql(`mutation ($id: ID!, $ids: [ID!]!) { addImagesToCollection(collectionId: $id, imageIds: $ids) { id } }`, {
                    id: collection.id,
                    ids: [...selected],
                  }),
                )
              }
            >
              Add selected images ({selected.size})
            </button>
            <button
              type="button"
              class="danger"
              onClick={() => void change(() => graphql(`mutation ($id: ID!) { deleteCollection(id: $id) }`, { id: collection.id }))}
            >
              Delete collection
            </button>
          </form>
          <ul class="grid">
            {collection.images.map((image) => (
              <li key={image.id}>
                <img src={image.url} width={100} height={100} loading="lazy" alt={`In ${collection.name}`} />
                <button
                  type="button"
                  class="link"
                  onClick={() =>
                    void change(() =>
                      graphql(`mutation ($id: ID!, $ids: [ID!]!) { removeImagesFromCollection(collectionId: $id, imageIds: $ids) { id } }`, {
                        id: collection.id,
                        ids: [image.id],
                      }),
                    )
                  }
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </Page>
  );
}
