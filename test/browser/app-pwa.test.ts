// The app as an installed PWA: its manifest, the update prompt when a new service worker
// waits, moving a model between browsers with export and import, and an import that does not fit.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { expectNoPageErrors, launch, overrideQuota, test } from './browser.ts';
import { buildApp, serveApp, type AppServer } from './fixtures/app/serve.ts';
import { go, heading, shoot, trainIris, waitForServiceWorker } from './fixtures/app/ui.ts';

let app: AppServer;
let outDir: string;

beforeAll(async () => {
  outDir = await buildApp('app-pwa-dist');
  app = await serveApp(outDir);
}, 120_000);

afterAll(() => app?.stop());

describe('the installed app', () => {
  test('has a manifest with PNG icons (maskable too) that the page links', async ({ browser }) => {
    const page = await browser.newPage(`${app.url}/`);
    const manifest = await page.evaluate(async () => {
      const href = document.querySelector<HTMLLinkElement>('link[rel=manifest]')!.href;
      const m = await (await fetch(href)).json();
      const icons = await Promise.all(
        m.icons.map(async (i: { src: string; sizes: string; type: string; purpose?: string }) => {
          const res = await fetch(i.src);
          const bitmap = i.type === 'image/png' ? await createImageBitmap(await res.blob()) : null;
          return { ...i, ok: res.ok, width: bitmap?.width ?? null };
        }),
      );
      return { name: m.name, display: m.display, start_url: m.start_url, icons };
    });
    expect(manifest).toMatchObject({ name: 'Hangar', display: 'standalone', start_url: '/' });
    const png = manifest.icons.filter((i) => i.type === 'image/png');
    expect(png.map((i) => [i.sizes, i.width, i.purpose ?? 'any', i.ok])).toEqual([
      ['192x192', 192, 'any', true],
      ['512x512', 512, 'any', true],
      ['512x512', 512, 'maskable', true],
    ]);
  });

  test('precaches the ML wasm and every chunk; its first chunk is small and holds no ML code', async ({ browser }) => {
    const page = await browser.newPage(`${app.url}/`);
    await waitForServiceWorker(page);
    const found = await page.evaluate(async () => {
      const cached = (await Promise.all((await caches.keys()).map(async (k) => (await (await caches.open(k)).keys()).map((r) => new URL(r.url).pathname)))).flat();
      const entry = document.querySelector<HTMLScriptElement>('script[type=module][src]')!.src;
      const code = await (await fetch(entry)).text();
      const gzip = (await new Response(new Blob([code]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer()).byteLength;
      return { cached, gzip, ml: /tensorflow|onnxruntime|InferenceSession/.test(code) };
    });
    for (const wasm of ['ort-wasm-simd-threaded.jsep', 'tfjs-backend-wasm', 'tfjs-backend-wasm-simd', 'tfjs-backend-wasm-threaded-simd']) {
      expect(found.cached.some((p) => new RegExp(`/assets/${wasm}-[\\w-]+\\.wasm$`).test(p)), `${wasm}.wasm precached`).toBe(true);
    }
    expect(found.cached.filter((p) => /train\.worker|predict\.worker/.test(p))).toHaveLength(2);
    expect(found.cached).toContain('/index.html');
    expect(found.gzip).toBeLessThanOrEqual(150_000);
    expect(found.ml).toBe(false);
  });

  test('offers to update when a new version is deployed, and reloads into it', async ({ browser }) => {
    const page = await browser.newPage(`${app.url}/jobs`);
    await waitForServiceWorker(page);
    // A second visit: the page is controlled (a new worker waits only while the old one has pages to serve).
    await browser.reload(page);
    expect(await page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    const first = await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.active!.scriptURL);
    expect(await page.getByText('A new version of Hangar is ready.').count()).toBe(0);

    // A new deployment: a changed service worker at the same origin.
    const port = Number(new URL(app.url).port);
    await app.stop();
    await appendToServiceWorker(outDir);
    app = await serveApp(outDir, port);
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
    await expect.poll(() => page.evaluate(async () => !!(await navigator.serviceWorker.getRegistration())!.waiting), { timeout: 30_000 }).toBe(true);
    await expect.poll(() => page.getByText('A new version of Hangar is ready.').count(), { timeout: 30_000 }).toBe(1);

    await page.getByRole('button', { name: 'Reload to update' }).click();
    await page.waitForEvent('load');
    await expect.poll(() => heading(page)).toBe('Jobs');
    const now = await page.evaluate(async () => {
      const r = (await navigator.serviceWorker.getRegistration())!;
      return { waiting: !!r.waiting, controlled: !!navigator.serviceWorker.controller };
    });
    expect(now).toEqual({ waiting: false, controlled: true });
    expect(first).toContain('/sw.js');
    expectNoPageErrors(page);
  });

  test('exports a model as a zip and imports it in another browser', { timeout: 120_000 }, async ({ browser }) => {
    const page = await browser.newPage(`${app.url}/train`);
    await trainIris(page, { model: 'moving', epochs: 3 });
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Trained version 1 of local/moving' }).count(), { timeout: 60_000 }).toBe(1);
    await page.getByRole('link', { name: 'Open the trained version' }).click();
    await page.getByRole('link', { name: 'Back to local/moving' }).click();
    await expect.poll(() => heading(page)).toBe('local/moving');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export model' }).click()]);
    expect(download.suggestedFilename()).toBe('local-moving.zip');
    const zip = await download.path();

    // Another browser (its own profile, so its own IndexedDB).
    const other = await launch();
    try {
      const there = await other.newPage(`${app.url}/`);
      await expect.poll(() => heading(there)).toBe('Models');
      await there.getByLabel(/archive exported from Hangar/).setInputFiles(zip);
      await expect.poll(() => heading(there), { timeout: 30_000 }).toBe('local/moving');
      await go(there, 'Predict', 'Predict');
      await there.getByLabel(/^Version/).fill('local/moving/1');
      await there.getByRole('button', { name: 'Use this version' }).click();
      // The predict form of the imported model: a text box per numeric feature (empty is "missing").
      await expect.poll(() => there.getByRole('textbox', { name: 'petal_width' }).count(), { timeout: 30_000 }).toBe(1);
      expectNoPageErrors(there);
    } finally {
      await other.close();
    }
  });

  test('an archive too large for the storage left is refused with a clear message and nothing kept; with room it imports with progress', { timeout: 120_000 }, async ({ browser }) => {
    // The archive: a model with a 12 MiB artifact, exported by the library in the test harness.
    const maker = await browser.newPage();
    const archive = await maker.evaluate(async () => {
      const hangar = await window.openRegistry({ name: 'archive-maker' });
      const v = await (await hangar.newModel({ namespace: 'team', name: 'big' })).newVersion();
      await v.uploadArtifacts([{ path: 'weights.bin', file: new Blob([window.randomBytes(12 << 20)]) }]);
      const zip = await hangar.exportModel('team', 'big');
      const url = await new Promise<string>((resolve) => {
        const reader = new FileReader();
        reader.onload = () => resolve(reader.result as string);
        reader.readAsDataURL(zip);
      });
      return url.slice(url.indexOf(',') + 1);
    });
    const file = { name: 'team-big.zip', mimeType: 'application/zip', buffer: Buffer.from(archive, 'base64') };

    const page = await browser.newPage(`${app.url}/`);
    await waitForServiceWorker(page);
    await expect.poll(() => heading(page)).toBe('Models');
    // Room for 4 MiB more than the app holds already (its precache counts too). Chromium lets
    // IndexedDB spend an allowance it fetched from the quota manager for up to 30 s
    // (BucketContext::kBucketSpaceCacheTimeLimit), so the new quota bites once that has run out.
    const { usage } = await overrideQuota(page);
    await overrideQuota(page, usage + (4 << 20));
    await page.waitForTimeout(31_000);
    await page.getByLabel(/archive exported from Hangar/).setInputFiles(file);
    await expect.poll(() => page.getByRole('alert').first().textContent(), { timeout: 30_000 }).toMatch(/^The archive was not imported: This browser's storage for Hangar is full, so nothing was saved/);
    await shoot(page, 'import-quota-error');
    // Nothing half-done: no model, no bytes left behind.
    expect(await heading(page)).toBe('Models');
    expect(await page.getByRole('option').count()).toBe(0);
    const left = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('hangar');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const count = (store: string) =>
        new Promise<number>((resolve) => {
          const req = db.transaction(store).objectStore(store).count();
          req.onsuccess = () => resolve(req.result);
        });
      const out = { models: await count('models'), blobs: await count('blobs'), blobChunks: await count('blobChunks') };
      db.close();
      return out;
    });
    expect(left).toEqual({ models: 0, blobs: 0, blobChunks: 0 });

    // With the room back, the same file imports, the bar moving in bytes as it goes.
    await overrideQuota(page);
    await page.evaluate(() => {
      const seen: [number, number][] = ((window as unknown as { seenProgress: [number, number][] }).seenProgress = []);
      const find = (root: Document | ShadowRoot): HTMLProgressElement | null => {
        const hit = root.querySelector<HTMLProgressElement>('progress[aria-label=Importing]');
        if (hit) return hit;
        for (const el of root.querySelectorAll('*')) {
          const inner = el.shadowRoot && find(el.shadowRoot);
          if (inner) return inner;
        }
        return null;
      };
      const watch = () => {
        const bar = find(document);
        if (bar?.hasAttribute('value')) seen.push([bar.value, bar.max]);
        requestAnimationFrame(watch);
      };
      watch();
    });
    await page.getByLabel(/archive exported from Hangar/).setInputFiles(file);
    await expect.poll(() => heading(page), { timeout: 30_000 }).toBe('team/big');
    const seen = await page.evaluate(() => (window as unknown as { seenProgress: [number, number][] }).seenProgress);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every(([, max]) => max === 12 << 20)).toBe(true);
    expect(seen.some(([value]) => value > 0 && value < 12 << 20)).toBe(true);
    expectNoPageErrors(page);
  });
});

/** Changes the built service worker's bytes, as a new deployment does. */
async function appendToServiceWorker(dir: string): Promise<void> {
  const { appendFile } = (await import('node:fs/promises' as string)) as { appendFile(path: string, text: string): Promise<void> };
  await appendFile(`${dir}/sw.js`, `\n// deployment ${Date.now()}\n`);
}
