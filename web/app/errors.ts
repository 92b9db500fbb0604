/** A sentence for the user from anything thrown: Hangar's own message, or what a browser failure means. */
export function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string; inner?: { name?: string } } | null;
  if (e?.code === 'quota-exceeded' || e?.name === 'QuotaExceededError' || e?.inner?.name === 'QuotaExceededError') {
    return "This browser's storage for Hangar is full, so nothing was saved. Free space (delete models you no longer need) or allow persistent storage in Settings.";
  }
  if (e?.message) return e.message;
  return String(err);
}

/** Bytes for people: 1.5 MB. */
export function bytes(n: number | null | undefined): string {
  if (n == null) return 'unknown';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let x = n;
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${i === 0 ? x : x.toFixed(1)} ${units[i]}`;
}

/** Saves a Blob as a download with the given file name. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  // The click has handed the URL to the download; freeing it at once can cancel it in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
