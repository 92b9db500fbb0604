import { transferHandlers } from 'comlink';
import { HangarError, type ErrorEnvelope } from '../../shared/errors.ts';

// Comlink carries only an error's name, message and stack across a Web Worker boundary. Its
// own `throw` handler is taught here to carry a HangarError whole, so the stable code
// survives; both sides of a worker import this module.
const builtIn = transferHandlers.get('throw')!;
transferHandlers.set('throw', {
  canHandle: builtIn.canHandle,
  serialize(thrown: unknown) {
    const value = (thrown as { value?: unknown }).value;
    if (value instanceof HangarError) return [{ hangar: value.toJSON() }, []];
    return builtIn.serialize(thrown);
  },
  deserialize(data: unknown) {
    const envelope = (data as { hangar?: ErrorEnvelope }).hangar;
    if (envelope) throw HangarError.fromEnvelope(envelope)!;
    return builtIn.deserialize(data);
  },
});
