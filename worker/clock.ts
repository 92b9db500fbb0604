import { HybridClock } from '../shared/hlc.ts';

// One clock per isolate. Writes made through REST are stamped with it; writes that arrive
// through sync carry the client's own clock.
const clock = new HybridClock('server');

/** The clock of a write made on the server now. */
export const serverHlc = () => clock.now();

/** Takes in a client's clock, so the server's next writes are later than what it has seen. */
export const observeHlc = (hlc: string) => clock.receive(hlc);
