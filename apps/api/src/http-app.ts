import { ValidationPipe } from '@nestjs/common';
import { raw, type NextFunction, type Request, type Response } from 'express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { eventSchemas } from '@dockyard/events';
import { sameOrigin } from './auth/same-origin';
import { mountQueuesBoard } from './queues-board';
import { securityHeaders } from './security-headers';

/** The one route that takes large bodies: GitHub deliveries, up to WEBHOOK_MAX_BODY. */
export const WEBHOOK_ROUTE = '/webhooks/github';

/** A large delivery without any signature is refused before a byte of it is read. */
function refuseLargeUnsigned(maxBody: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.headers['x-hub-signature-256'] || Number(req.headers['content-length'] ?? 0) <= maxBody) return next();
    res.status(401).set('Connection', 'close').json({ statusCode: 401, message: 'X-Hub-Signature-256 is missing' });
  };
}

/** Everything an HTTP app needs besides its modules: logging, validation, OpenAPI, shutdown. */
export function configureHttpApp(app: NestExpressApplication): NestExpressApplication {
  app.useLogger(app.get(Logger));
  // API answers are not cached by clients: no ETag hashing of every body, no framework banner.
  app.set('etag', false);
  app.disable('x-powered-by');
  const { http } = app.get<AppConfig>(APP_CONFIG);
  // Whose X-Forwarded-For/-Proto count: the client's address for log-in limits, https for Secure cookies.
  app.set('trust proxy', http.trustProxy);
  app.use(...securityHeaders(http.publicUrl));
  app.use(sameOrigin(http.publicUrl, [WEBHOOK_ROUTE]));
  // Limits before work. Only the webhook route takes large bodies (GitHub's cap is 25 MB), as raw bytes:
  // the signature is checked on those before any JSON parsing. Every other route: HTTP_MAX_BODY of JSON.
  app.use(WEBHOOK_ROUTE, refuseLargeUnsigned(http.maxBody), raw({ type: () => true, limit: http.webhookMaxBody }));
  app.useBodyParser('json', { limit: http.maxBody });
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
