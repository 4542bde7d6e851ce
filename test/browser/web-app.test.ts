/**
 * The web app in a real browser (Debian's Chromium driven by playwright-core), against a real
 * server: sign up, a resumable upload cut twice (offline, then a page reload) and resumed, post,
 * comment, the feed's order, another user's view, the admin charts and a guest's upload link.
 * Screenshots of every page land in test-results/web-app/ (git-ignored) for a person to look at.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { addComment, createPost, distinctPng, eventually, postJson, signUpAndLogIn, type TestUser } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';
import { parkJob } from '../support/server-database.js';

const chromiumPath = '/usr/bin/chromium';
const root = fileURLToPath(new URL('../..', import.meta.url));
const webBuild = join(root, 'dist/web');
const screenshots = join(root, 'test-results/web-app');
/** The app's tus chunk size (web/src/pages/upload.tsx): the cuts below happen at chunk boundaries. */
const chunk = 2 * 1024 * 1024;
const phone = { viewport: { width: 390, height: 844 } };
/** Posts per feed page, as the app asks for them (web/src/pages/feed.tsx). */
const feedPageSize = 10;

const missingBrowser = existsSync(chromiumPath) ? null : `no Chromium at ${chromiumPath} (apt-get install -y chromium)`;
if (missingBrowser && process.env.CI === 'true') throw new Error(`CI=true: the web app's browser test must run, but there is ${missingBrowser}`);
if (missingBrowser) process.stderr.write(`\n*** SKIPPING the web app's browser test: ${missingBrowser} ***\n\n`);

/** The newest mtime under `dir`. */
function newestChange(dir: string): number {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds the app (as `npm install` does) when dist/web is missing or older than web/, so the test never checks a stale build. */
async function ensureWebAppBuilt(): Promise<void> {
  const index = join(webBuild, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestChange(join(root, 'web'))) return;
  const child = spawn(process.execPath, [join(root, 'scripts/build-web.js')], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, 'the web app did not build (scripts/build-web.js)');
}

/** A 12-megapixel JPEG with a camera model in its EXIF, large enough for three tus chunks. */
async function twelveMegapixelJpeg(): Promise<Buffer> {
  const width = 4000;
  const height = 3000;
  const pixels = randomBytes(width * height * 3);
  // Noise over a gradient: compresses like a photo (several MB), not like a flat colour.
  for (let i = 0; i < pixels.length; i++) pixels[i] = (pixels[i]! & 127) + ((i % (width * 3)) >> 7);
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .withExif({ IFD0: { Make: 'Nikon', Model: 'Z 6' } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** What the test reads of the page's globals (the test itself is compiled without the DOM's types). */
interface PageGlobals {
  innerWidth: number;
  document: {
    images: Iterable<{ complete: boolean; naturalWidth: number; naturalHeight: number }>;
    documentElement: { scrollWidth: number; scrollHeight: number };
  };
}

/** What the test reads of a canvas in the page. */
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, width: number, height: number): { data: Uint8ClampedArray } } | null;
}

describe('the web app in Chromium', { skip: missingBrowser ?? false }, () => {
  let server: RunningServer;
  let browser: Browser;
  let work: string;
  const contexts: BrowserContext[] = [];
  /** Script errors and console errors of every page; network failures are provoked here on purpose. */
  const consoleErrors: string[] = [];
  let alice: { username: string; password: string };
  let alicePostId: string;
  let bob: TestUser;
  /** Images of the posts seeded for the second feed page: their jobs are harmless to run again. */
  const seededImageIds: string[] = [];

  async function newPage(session?: TestUser): Promise<Page> {
    const context = await browser.newContext(phone);
    contexts.push(context);
    if (session) {
      const stored = JSON.stringify({ token: session.token, user: { id: session.id, username: session.username } });
      await context.addInitScript({ content: `localStorage.setItem('imagegram.session', ${JSON.stringify(stored)})` });
    }
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => consoleErrors.push(`${page.url()}: ${String(error)}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) consoleErrors.push(`${page.url()}: ${message.text()}`);
    });
    return page;
  }
  const shoot = (page: Page, name: string) => page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });

  before(async () => {
    await ensureWebAppBuilt();
    mkdirSync(screenshots, { recursive: true });
    work = await mkdtemp(join(tmpdir(), 'imagegram-browser-'));
    server = await startServer();
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  });
  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await server?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the feed page ships at most 150 KB of gzipped JavaScript; the admin charts are a separate chunk', () => {
    const html = readFileSync(join(webBuild, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((match) => match[1]!);
    assert.ok(scripts.length > 0);
    const gzipped = scripts.reduce((sum, path) => sum + gzipSync(readFileSync(join(webBuild, path))).length, 0);
    process.stderr.write(`web app: the feed page loads ${scripts.length} script(s), ${(gzipped / 1024).toFixed(1)} KB gzipped\n`);
    assert.ok(gzipped <= 150 * 1024, `${gzipped} bytes gzipped`);
    assert.ok(!scripts.some((path) => path.includes('admin')), 'the admin page is loaded only when visited');
  });

  test('sign up from the browser', async () => {
    const page = await newPage();
    alice = { username: `alice${randomBytes(3).toString('hex')}`, password: 'correct horse battery staple' };
    await page.goto(`${server.baseUrl}/signup`);
    await page.getByLabel('Username').fill(alice.username);
    await page.getByLabel('Password').fill(alice.password);
    await shoot(page, '01-sign-up');
    await page.getByRole('button', { name: 'Sign up', exact: true }).click();
    await page.getByRole('button', { name: `Log out ${alice.username}` }).waitFor();
    // A refused sign-up shows the server's problem detail.
    await page.getByRole('button', { name: `Log out ${alice.username}` }).click();
    await page.getByRole('link', { name: 'Sign up' }).click();
    await page.getByLabel('Username').fill(alice.username);
    await page.getByLabel('Password').fill(alice.password);
    await page.getByRole('button', { name: 'Sign up', exact: true }).click();
    const refusal = await page.getByRole('alert').textContent();
    assert.match(refusal ?? '', /taken/i);
    await page.getByRole('link', { name: 'Log in' }).first().click();
    await page.getByLabel('Username').fill(alice.username);
    await page.getByLabel('Password').fill(alice.password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('button', { name: `Log out ${alice.username}` }).waitFor();
    await page.context().close();
  });

  test('a 12 MP upload survives going offline and a page reload, resumes, and is posted and commented', async () => {
    const jpeg = await twelveMegapixelJpeg();
    assert.ok(jpeg.length > 2 * chunk + 1024, `the JPEG (${jpeg.length} bytes) needs three chunks`);
    const file = join(work, 'holiday.jpg');
    writeFileSync(file, jpeg);

    const page = await newPage();
    const context = page.context();
    // Log in through the page (the session is the app's, in localStorage, and survives the reload).
    await page.goto(`${server.baseUrl}/login`);
    await page.getByLabel('Username').fill(alice.username);
    await page.getByLabel('Password').fill(alice.password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('link', { name: 'Upload' }).click();

    let creations = 0;
    let cutOffline = false;
    let holding = false;
    const patchOffsets: number[] = [];
    let signalHeld: () => void = () => {};
    const held = new Promise<void>((resolve) => (signalHeld = resolve));
    await page.route(/\/uploads(\/[0-9a-f]{32})?$/, async (route) => {
      const request = route.request();
      if (request.method() === 'POST') creations++;
      if (request.method() !== 'PATCH') return route.continue();
      const offset = Number(request.headers()['upload-offset']);
      // Cut 1: the connection drops as the second chunk starts (the browser goes offline).
      if (offset === chunk && !cutOffline) {
        cutOffline = true;
        await context.setOffline(true);
        return route.abort('internetdisconnected');
      }
      // Cut 2: every attempt at the third chunk fails until the page is reloaded.
      if (offset === 2 * chunk && holding) {
        signalHeld();
        return route.abort('connectionreset');
      }
      patchOffsets.push(offset);
      return route.continue();
    });

    holding = true;
    await page.locator('input[type=file]').setInputFiles(file);
    await page.getByText('Connection lost: the upload resumes when you are back online.').waitFor();
    assert.ok(Number(await page.locator('#upload-progress').getAttribute('value')) >= chunk, 'the progress bar shows the first chunk');
    await shoot(page, '02-upload-offline');
    await context.setOffline(false);
    await held;
    assert.ok(Number(await page.locator('#upload-progress').getAttribute('value')) >= 2 * chunk, 'back online, the second chunk was sent');
    await shoot(page, '03-upload-interrupted');

    await page.reload();
    holding = false;
    await page.getByRole('heading', { name: 'Unfinished uploads' }).waitFor();
    assert.match((await page.locator('li', { hasText: 'holiday.jpg' }).textContent()) ?? '', /holiday\.jpg/);
    await shoot(page, '04-upload-after-reload');
    const sentBeforeReload = patchOffsets.length;
    await page.locator('input[type=file]').setInputFiles(file);
    await page.getByText('holiday.jpg is uploaded.').waitFor({ timeout: 30_000 });
    assert.equal(creations, 1, 'the upload was resumed, never created anew');
    assert.deepEqual(patchOffsets.slice(0, sentBeforeReload), [0, chunk], 'before the reload: the first chunk, then the second once back online');
    assert.equal(patchOffsets[sentBeforeReload], 2 * chunk, 'after the reload it resumed from the last byte the server kept');

    await page.getByLabel('Caption').fill('Holiday at the lake');
    await shoot(page, '05-caption');
    await page.getByRole('button', { name: 'Post', exact: true }).click();
    await page.waitForURL(/\/p\/[^/]+$/, { timeout: 30_000 });
    alicePostId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await page.getByRole('img', { name: `Posted by ${alice.username}: Holiday at the lake` }).waitFor();
    // The 600×600 rendition, loaded (not a broken image).
    await page.waitForFunction(() =>
      [...(globalThis as unknown as PageGlobals).document.images].some((image) => image.complete && image.naturalWidth === 600 && image.naturalHeight === 600),
    );

    await page.getByRole('textbox', { name: 'Your comment' }).fill('What a view');
    await page.getByRole('button', { name: 'Comment', exact: true }).click();
    await page.locator('li[data-comment-id]', { hasText: 'What a view' }).waitFor();
    await page.getByRole('textbox', { name: 'Your comment' }).fill('Oops, wrong post');
    await page.getByRole('button', { name: 'Comment', exact: true }).click();
    await page.getByRole('button', { name: 'Delete your comment “Oops, wrong post”' }).click();
    await page.locator('li[data-comment-id]', { hasText: 'Oops' }).waitFor({ state: 'detached' });
    assert.equal(await page.locator('.comment-count').textContent(), '1 comment');

    // The author edits the caption in place (PATCH /posts/{id}); a fresh read has it.
    await page.getByRole('button', { name: 'Edit caption' }).click();
    await page.getByRole('textbox', { name: 'Caption' }).fill('Holiday at the lake, at dusk');
    await shoot(page, '06-post-edit-caption');
    await page.getByRole('button', { name: 'Save caption' }).click();
    await page.getByRole('img', { name: `Posted by ${alice.username}: Holiday at the lake, at dusk` }).waitFor();
    await page.getByRole('heading', { name: `${alice.username}: Holiday at the lake, at dusk` }).waitFor();
    const stored = (await (await fetch(`${server.baseUrl}/posts/${alicePostId}`)).json()) as { caption: string; image: { id: string } };
    assert.equal(stored.caption, 'Holiday at the lake, at dusk');

    // Where and when the photo was taken stay hers until she ticks a box (PATCH /images/{id}).
    const shareTime = page.getByRole('checkbox', { name: /Show everyone when it was taken/ });
    assert.equal(await shareTime.isChecked(), false);
    await shareTime.check();
    await eventually(async () => ((await shareTime.isChecked()) && (await shareTime.isEnabled()) ? true : undefined), { what: 'the sharing choice saved' });
    const seen = (await (await fetch(`${server.baseUrl}/images/${stored.image.id}`)).json()) as { shareTakenAt: boolean; shareLocation: boolean };
    assert.deepEqual([seen.shareTakenAt, seen.shareLocation], [true, false]);
    await shoot(page, '06-post');
    await context.close();
  });

  test('the feed shows posts by comment count, and another user cannot delete them', async () => {
    bob = await signUpAndLogIn(server.baseUrl, 'bob');
    const carol = await signUpAndLogIn(server.baseUrl, 'carol');
    const quiet = (await (await createPost(server.baseUrl, bob, await distinctPng(1), 'Nobody comments on this')).json()) as { id: string };
    const busy = (await (await createPost(server.baseUrl, carol, await distinctPng(2), 'Everyone comments on this')).json()) as { id: string };
    for (const body of ['one', 'two']) assert.equal((await addComment(server.baseUrl, bob, busy.id, body)).status, 201);

    const page = await newPage(bob);
    await page.goto(`${server.baseUrl}/`);
    await page.locator('article.post').nth(2).waitFor();
    const order = await page.locator('article.post').evaluateAll((posts) => posts.map((post) => post.getAttribute('data-post-id')));
    assert.deepEqual(order, [busy.id, alicePostId, quiet.id]);
    const alicesCard = page.locator(`article[data-post-id="${alicePostId}"]`);
    assert.equal(await alicesCard.locator('.comment-count').textContent(), '1 comment');
    assert.match((await alicesCard.locator('.comments').textContent()) ?? '', /What a view/);
    const fits = await page.evaluate(() => {
      const { document, innerWidth } = globalThis as unknown as PageGlobals;
      return document.documentElement.scrollWidth <= innerWidth;
    });
    assert.ok(fits, 'nothing wider than a phone screen');
    await shoot(page, '07-feed');

    await alicesCard.getByRole('link', { name: '1 comment' }).click();
    await page.locator('li[data-comment-id]', { hasText: 'What a view' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Delete post' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Edit caption' }).count(), 0);
    assert.equal(await page.getByRole('checkbox', { name: /Show everyone/ }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /^Delete your comment/ }).count(), 0);
    await shoot(page, '08-post-as-another-user');
    const attempt = await fetch(`${server.baseUrl}/posts/${alicePostId}`, { method: 'DELETE', headers: bob.headers });
    assert.equal(attempt.status, 403);
    await page.context().close();
  });

  test('the feed loads its next page when scrolled to the end', async () => {
    // Three posts so far; two more than a page holds, so the second page has two.
    const seeded: string[] = [];
    const total = feedPageSize + 2;
    for (let seed = 100; seeded.length < total - 3; seed++) {
      const created = await createPost(server.baseUrl, bob, await distinctPng(seed), `Filler ${seed}`);
      assert.equal(created.status, 201);
      const post = (await created.json()) as { id: string; image: { id: string } };
      seeded.push(post.id);
      seededImageIds.push(post.image.id);
    }

    const page = await newPage(bob);
    await page.goto(`${server.baseUrl}/`);
    const posts = page.locator('article.post');
    await posts.nth(feedPageSize - 1).waitFor();
    // The end of the first page is screens away (each image reserves its square), so nothing more
    // is asked for until the reader scrolls there.
    assert.equal(await posts.count(), feedPageSize);
    assert.equal(await page.locator('.sentinel').textContent(), '');
    const secondPage = page.waitForRequest((request) => new URL(request.url()).pathname === '/posts' && new URL(request.url()).searchParams.has('cursor'));
    await page.evaluate(() => {
      const window = globalThis as unknown as PageGlobals & { scrollTo(x: number, y: number): void };
      window.scrollTo(0, window.document.documentElement.scrollHeight);
    });
    await secondPage;
    await posts.nth(total - 1).waitFor();
    await page.getByText('You have seen every post.').waitFor();
    const ids = await posts.evaluateAll((articles) => articles.map((article) => article.getAttribute('data-post-id')));
    assert.equal(ids.length, total);
    assert.equal(new Set(ids).size, total, 'no post shown twice');
    for (const id of [...seeded, alicePostId]) assert.ok(ids.includes(id), `post ${id} is in the feed`);
    await shoot(page, '08b-feed-second-page');
    await page.context().close();
  });

  test('my collections: create, rename, and add and remove an image', async () => {
    const session = await postJson(server.baseUrl, '/sessions', alice);
    const { token, user } = (await session.json()) as { token: string; user: { id: string } };
    const me: TestUser = { ...alice, id: user.id, token, headers: { authorization: `Bearer ${token}` } };
    const page = await newPage(me);
    await page.goto(`${server.baseUrl}/library`);
    await page.getByLabel('New collection').fill('Trips');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const trips = page.getByRole('region', { name: 'Collection Trips' });
    await trips.getByLabel('Name').fill('Summer trips');
    await trips.getByRole('button', { name: 'Rename' }).click();
    const summer = page.getByRole('region', { name: 'Collection Summer trips' });
    await summer.waitFor();

    // Listing my images needs GET /me/images, which a server older than the web app may lack.
    const images = await fetch(`${server.baseUrl}/me/images`, { headers: me.headers });
    if (images.status === 404) {
      process.stderr.write('\n*** web app: GET /me/images is not on this server: adding images to a collection was not tried ***\n\n');
    } else {
      assert.equal(images.status, 200);
      await page.getByRole('list', { name: 'My images' }).getByRole('checkbox').first().check();
      await summer.getByRole('button', { name: 'Add selected images (1)' }).click();
      await summer.getByRole('img').waitFor();
      await shoot(page, '09-collections');
      await summer.getByRole('button', { name: 'Remove' }).click();
      await summer.getByRole('img').waitFor({ state: 'detached' });
    }
    await images.arrayBuffer();
    const listed = await postJson(server.baseUrl, '/graphql', { query: '{ collections { edges { node { name } } } }' }, me.headers);
    assert.deepEqual(await listed.json(), { data: { collections: { edges: [{ node: { name: 'Summer trips' } }] } } });
    await shoot(page, '09-library');
    await page.context().close();
  });

  test('the admin page charts the stats and lists events and parked jobs', async () => {
    const admin = { 'x-access-token': server.adminToken };
    // Camera models come from a background job run moments after the upload.
    await eventually(
      async () => {
        const stats = (await (await fetch(`${server.baseUrl}/admin/stats`, { headers: admin })).json()) as { top10CameraModels: { model: string }[] };
        return stats.top10CameraModels.some((row) => row.model === 'Z 6') ? true : undefined;
      },
      { what: 'the camera model in /admin/stats' },
    );

    const page = await newPage();
    await page.goto(`${server.baseUrl}/admin`);
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Admin token').fill(server.adminToken);
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    const cameras = page.locator('figure', { hasText: 'Top 10 camera models' });
    await cameras.locator('svg rect').first().waitFor();
    assert.match((await cameras.locator('svg').textContent()) ?? '', /Z 6/);
    const formats = page.locator('figure', { hasText: 'Most uploaded format' });
    assert.ok((await formats.locator('svg rect').count()) > 0);
    const canvas = page.locator('.uplot canvas');
    await canvas.waitFor();
    const painted = await canvas.evaluate((element: CanvasLike) => {
      const pixels = element.getContext('2d')!.getImageData(0, 0, element.width, element.height).data;
      let count = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) count++;
      return count;
    });
    assert.ok(painted > 0, 'the uploads-per-day chart drew something');
    assert.ok((await page.locator('table.events tbody tr').count()) > 0, 'recent events are listed');
    assert.ok(await page.getByText('No parked jobs.').isVisible());

    // A job that ran out of attempts is listed with its error; Retry queues it again.
    const done = await eventually(
      async () => {
        const listed = (await (await fetch(`${server.baseUrl}/admin/jobs?state=done&name=image.extract-metadata&limit=200`, { headers: admin })).json()) as {
          jobs: { id: string; payload: { imageId?: string } }[];
        };
        return listed.jobs.find((job) => seededImageIds.includes(job.payload.imageId ?? ''));
      },
      { what: 'a finished metadata job of a seeded image' },
    );
    await parkJob(server, done.id, 'the original is not in the blob store (parked by the test)');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    const parked = page.locator('ul.jobs li', { hasText: 'parked by the test' });
    await parked.waitFor();
    assert.match((await parked.textContent()) ?? '', /image\.extract-metadata after 5 attempts/);
    await shoot(page, '10-admin');
    const retried = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().endsWith(`/admin/jobs/${done.id}/retry`));
    await parked.getByRole('button', { name: 'Retry' }).click();
    assert.equal((await retried).status(), 200);
    await page.getByRole('status').filter({ hasText: 'Job image.extract-metadata is queued again.' }).waitFor();
    await page.getByText('No parked jobs.').waitFor();
    await eventually(
      async () => {
        const job = (await (await fetch(`${server.baseUrl}/admin/jobs/${done.id}`, { headers: admin })).json()) as { state: string; attempts: number };
        return job.state === 'done' ? job : undefined;
      },
      { what: 'the retried job done again' },
    );
    await shoot(page, '10b-admin-after-retry');
    await page.context().close();
  });

  test('a guest drops two files on an upload link and is told which one was refused and why', async () => {
    const created = await postJson(server.baseUrl, '/admin/upload-links', { sinceNow: 'PT1H' }, { 'x-access-token': server.adminToken });
    assert.equal(created.status, 201);
    const { relativePath } = (await created.json()) as { relativePath: string };
    const good = join(work, 'beach.png');
    writeFileSync(good, await distinctPng(3));
    const bad = join(work, 'notes.jpg');
    writeFileSync(bad, 'these are notes, not a photo\n'.repeat(20));

    const page = await newPage();
    await page.goto(`${server.baseUrl}${relativePath}`);
    await page.getByRole('heading', { name: 'Send images' }).waitFor();
    await shoot(page, '11-upload-link');
    await page.locator('input[type=file]').setInputFiles([good, bad]);
    await page.locator('.accepted li', { hasText: 'beach.png' }).waitFor();
    const refused = await page.locator('.refused li').allTextContents();
    assert.equal(refused.length, 1);
    assert.match(refused[0]!, /^notes\.jpg: \S/);
    await shoot(page, '12-upload-link-result');
    // The link's API answers as before to a client that does not ask for HTML.
    const api = await fetch(`${server.baseUrl}${relativePath}`, { method: 'POST' });
    assert.equal(api.status, 400);
    await api.arrayBuffer();
    await page.context().close();
  });

  test('no page logged a script error', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
