import { ValidationPipe } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { eventSchemas } from '@dockyard/events';
import { mountQueuesBoard } from './queues-board';

/** Everything an HTTP app needs besides its modules: logging, validation, OpenAPI, shutdown. */
export function configureHttpApp(app: NestExpressApplication): NestExpressApplication {
  app.useLogger(app.get(Logger));
  // API answers are not cached by clients: no ETag hashing of every body, no framework banner.
  app.set('etag', false);
  app.disable('x-powered-by');
  // GitHub caps deliveries at 25 MB; the raw body is kept for the signature check.
  app.useBodyParser('json', { limit: app.get<AppConfig>(APP_CONFIG).http.webhookMaxBody });
  app.useBodyParser('urlencoded', { extended: false, limit: '64kb' });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Dockyard')
      .setDescription('From git push to a production image: builds, tests, promotions by digest.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  // The event catalogue's JSON Schemas, one component per event type (what streams and hooks send).
  document.components = { ...document.components, schemas: { ...document.components?.schemas, ...eventSchemas() } };
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });
  mountQueuesBoard(app);
  app.enableShutdownHooks();
  return app;
}
