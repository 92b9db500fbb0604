// The Worker's entry. workerd takes every export of this module as a handler, so it exports
// the app alone; the router lives in app.ts.
import { app } from './app.ts';

export default app;
