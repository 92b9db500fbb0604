// Node's EventEmitter, as much of it as pouchdb-browser uses, for the browser benchmark page
// (bench/browser/global-setup.ts aliases `events` here: Vite leaves Node's modules out of browser
// bundles). Methods are plain enumerable prototype properties, as in the `events` package,
// because PouchDB copies them from EventEmitter.prototype with Object.keys.
export default function EventEmitter() {
  EventEmitter.init.call(this);
}
EventEmitter.EventEmitter = EventEmitter;
EventEmitter.defaultMaxListeners = 10;
EventEmitter.init = function () {
  if (!this._events || this._events === Object.getPrototypeOf(this)._events) this._events = new Map();
  this._maxListeners = this._maxListeners || undefined;
};
EventEmitter.listenerCount = (emitter, type) => emitter.listenerCount(type);

const list = (self, type) => {
  if (!self._events) self._events = new Map();
  let l = self._events.get(type);
  if (!l) self._events.set(type, (l = []));
  return l;
};
const P = EventEmitter.prototype;
P.setMaxListeners = function (n) {
  this._maxListeners = n;
  return this;
};
P.getMaxListeners = function () {
  return this._maxListeners ?? EventEmitter.defaultMaxListeners;
};
P.emit = function (type, ...args) {
  const l = this._events?.get(type);
  if (!l || l.length === 0) {
    if (type === 'error') throw args[0] instanceof Error ? args[0] : new Error(`Unhandled error: ${String(args[0])}`);
    return false;
  }
  for (const entry of [...l]) {
    if (entry.once) this.removeListener(type, entry.listener);
    entry.listener.apply(this, args);
  }
  return true;
};
P.addListener = function (type, listener) {
  if (this._events?.has('newListener')) this.emit('newListener', type, listener);
  list(this, type).push({ listener, once: false });
  return this;
};
P.on = P.addListener;
P.prependListener = function (type, listener) {
  list(this, type).unshift({ listener, once: false });
  return this;
};
P.once = function (type, listener) {
  if (this._events?.has('newListener')) this.emit('newListener', type, listener);
  list(this, type).push({ listener, once: true });
  return this;
};
P.removeListener = function (type, listener) {
  const l = this._events?.get(type);
  if (!l) return this;
  for (let i = l.length - 1; i >= 0; i--) {
    if (l[i].listener === listener) {
      l.splice(i, 1);
      if (this._events.has('removeListener')) this.emit('removeListener', type, listener);
      break;
    }
  }
  if (l.length === 0) this._events.delete(type);
  return this;
};
P.off = P.removeListener;
P.removeAllListeners = function (type) {
  if (!this._events) return this;
  if (type === undefined) this._events.clear();
  else this._events.delete(type);
  return this;
};
P.listeners = function (type) {
  return (this._events?.get(type) ?? []).map((e) => e.listener);
};
P.rawListeners = P.listeners;
P.listenerCount = function (type) {
  return this._events?.get(type)?.length ?? 0;
};
P.eventNames = function () {
  return [...(this._events?.keys() ?? [])];
};
