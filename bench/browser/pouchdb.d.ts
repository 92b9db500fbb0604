// The little of pouchdb-browser the sync figures use (the package ships no types).
declare module 'pouchdb-browser' {
  interface ReplicationResult {
    ok: boolean;
    docs_read: number;
    docs_written: number;
  }
  class PouchDB {
    constructor(name: string, options?: Record<string, unknown>);
    bulkDocs(docs: object[]): Promise<({ ok: true; id: string } | { error: string; id?: string })[]>;
    replicate: {
      to(target: string | PouchDB, options?: Record<string, unknown>): Promise<ReplicationResult>;
      from(source: string | PouchDB, options?: Record<string, unknown>): Promise<ReplicationResult>;
    };
    destroy(): Promise<unknown>;
  }
  export default PouchDB;
}
