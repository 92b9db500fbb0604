// The sync benchmark page: the rounds of the sync figures (sync.ts), callable from Node
// (sync.bench-test.ts) one at a time, each in a fresh page. Apart from page.html so that
// PouchDB loads only here.
import '../../test/browser/fixtures/dexie.ts';
import { loadLibrary } from '../../test/browser/fixtures/library.ts';
import * as sync from './sync.ts';

const loaded = loadLibrary();

async function library() {
  const { library, error } = await loaded;
  if (!library) throw new Error(error);
  return library;
}

let upload: sync.UploadPrepared | undefined;

const syncBench = {
  /** Deletes every IndexedDB database of the origin, so earlier rounds' data weighs on no round. */
  async clearDatabases(): Promise<void> {
    for (const { name } of await indexedDB.databases()) if (name) await window.Dexie.delete(name);
  },
  hangarPull: async (name: string, server: sync.Server, ns: string) => sync.hangarPull(await library(), name, server, ns),
  hangarPush: async (name: string, server: sync.Server, ns: string) => sync.hangarPush(await library(), name, server, ns),
  plainPull: (name: string, plainUrl: string) => sync.plainPull(name, plainUrl),
  plainPush: (name: string, plainUrl: string, rows: sync.Row[]) => sync.plainPush(name, plainUrl, rows),
  pouchPush: (name: string, remote: string, rows: sync.Row[]) => sync.pouchPush(name, remote, rows),
  pouchPull: (name: string, remote: string) => sync.pouchPull(name, remote),
  /** Readies an upload round; `uploadStore` then `uploadSync` run it (the heap is watched meanwhile). */
  uploadPrepare: async (name: string, server: sync.Server, ns: string) => {
    upload = await sync.prepareUpload(await library(), name, server, ns);
    return upload.sha256;
  },
  uploadStore: () => {
    if (!upload) throw new Error('uploadPrepare first');
    return upload.store();
  },
  uploadSync: () => {
    if (!upload) throw new Error('uploadPrepare first');
    return upload.sync();
  },
};

export type SyncBench = typeof syncBench;

declare global {
  interface Window {
    syncBench: SyncBench;
  }
}

window.syncBench = syncBench;
window.harnessReady = loaded.then(({ library, error }) => ({ library: library !== null, error }));
