import { transferHandlers } from 'comlink';
import { HangarError, type ErrorEnvelope } from '../../shared/errors.ts';

/**
 * Comlink carries only an error's name, message and stack across a Web Worker boundary; this
 * handler carries a HangarError whole, so its stable code survives. Both sides of a worker
 * import this module.
 */
const hangarErrorHandler = {
  canHandle: (value: unknown): value is HangarError => value instanceof HangarError,
  serialize: (err: HangarError): [ErrorEnvelope, Transferable[]] => [err.toJSON(), []],
  deserialize: (envelope: ErrorEnvelope): HangarError => HangarError.fromEnvelope(envelope)!,
};

/** Comlink's own `throw` handler, taught to keep a HangarError's code. */
const builtIn = transferHandlers.get('throw')!;
transferHandlers.set('throw', {
  canHandle: builtIn.canHandle,
  serialize(thrown: unknown) {
    const value = (thrown as { value?: unknown }).value;
    if (value instanceof HangarError) return [{ hangar: hangarErrorHandler.serialize(value)[0] }, []];
    return builtIn.serialize(thrown);
  },
  deserialize(data: unknown) {
    const envelope = (data as { hangar?: ErrorEnvelope }).hangar;
    if (envelope) throw hangarErrorHandler.deserialize(envelope);
    return builtIn.deserialize(data);
  },
});
