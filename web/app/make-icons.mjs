// Makes the app's PNG icons from the SVGs in public/icons (run once after changing them:
// `node web/app/make-icons.mjs`); the PNGs are committed, so a build needs no image tool.
import sharp from 'sharp';

const dir = new URL('./public/icons/', import.meta.url).pathname;
for (const [source, size, out] of [
  ['icon.svg', 192, 'icon-192.png'],
  ['icon.svg', 512, 'icon-512.png'],
  ['maskable.svg', 512, 'maskable-512.png'],
  ['icon.svg', 180, 'apple-touch-icon.png'],
]) {
  await sharp(dir + source, { density: 300 }).resize(size, size).png().toFile(dir + out);
}
