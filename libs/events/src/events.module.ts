import { Module } from '@nestjs/common';
import { BuildEvents } from './build-events';
import { DeliverEvent } from './deliver-event';
import { DeliveryMetrics } from './delivery-metrics';
import { DeployEvents } from './deploy-events';
import { EventPublisher } from './event-publisher';
import { EventStream } from './event-stream';
import { HookAdmin } from './hook-admin';
import { HookClient } from './hook-client';
import { HookDispatcher } from './hook-dispatcher';
import { PromotionEvents } from './promotion-events';

const providers = [
  BuildEvents,
  DeliverEvent,
  DeliveryMetrics,
  DeployEvents,
  EventPublisher,
  EventStream,
  HookAdmin,
  HookClient,
  HookDispatcher,
  PromotionEvents,
];

/**
 * Events: the catalogue, the publisher every emit point calls, the stream bots follow, outgoing
 * webhooks (dispatcher, delivery, admin) and the delivery metrics. The dispatcher runs wherever this
 * module is loaded; its cursor lock lets any number of processes run one.
 */
@Module({ providers, exports: providers })
export class EventsModule {}
