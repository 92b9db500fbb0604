// The Worker's entry. workerd takes every export of this module as a handler, so it exports
// the handlers alone: the router (app.ts), the webhook queue's consumer, the Cron Trigger's
// sweeps (scheduled/index.ts) and the Durable Object class.
import { app } from './app.ts';
import type { DeliveryMessage } from './webhooks/dispatch.ts';
import { deliverWebhooks } from './webhooks/deliver.ts';
import { scheduled } from './scheduled/index.ts';

export { LiveHub } from './live.ts';
export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => app.fetch(request, env, ctx),
  queue: (batch: MessageBatch<DeliveryMessage>, env: Env) => deliverWebhooks(batch, env),
  scheduled: (controller: ScheduledController, env: Env) => scheduled(controller, env),
} satisfies ExportedHandler<Env, DeliveryMessage>;
