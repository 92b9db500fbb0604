// The Worker's entry. workerd takes every export of this module as a handler, so it exports
// the app and the Durable Object class alone; the router lives in app.ts.
import { app } from './app.ts';

export { LiveHub } from './live.ts';
export default app;
