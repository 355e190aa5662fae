import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { ProjectExistsError, TargetExistsError, UserExistsError, isDatabaseUnavailable } from '@dockyard/db';
import { HookNotFoundError, InvalidHookError } from '@dockyard/events';
import {
  ConflictError,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  PipelineFileError,
  SignatureRejectedError,
  UnauthenticatedError,
} from '@dockyard/pipeline';
import {
  SecretInputError,
  SecretScopeNotFoundError,
  SecretUnreadableError,
  SecretsKeyMissingError,
} from '@dockyard/secrets';

const STATUS: [new (...args: never[]) => Error, number][] = [
  [NotFoundError, HttpStatus.NOT_FOUND],
  [HookNotFoundError, HttpStatus.NOT_FOUND],
  [InvalidHookError, HttpStatus.BAD_REQUEST],
  [ConflictError, HttpStatus.CONFLICT],
  [ProjectExistsError, HttpStatus.CONFLICT],
  [UserExistsError, HttpStatus.CONFLICT],
  [TargetExistsError, HttpStatus.CONFLICT],
  [InvalidRequestError, HttpStatus.BAD_REQUEST],
  [PipelineFileError, HttpStatus.UNPROCESSABLE_ENTITY],
  [SignatureRejectedError, HttpStatus.UNAUTHORIZED],
  [UnauthenticatedError, HttpStatus.UNAUTHORIZED],
  [ForbiddenError, HttpStatus.FORBIDDEN],
  [SecretInputError, HttpStatus.BAD_REQUEST],
  [SecretScopeNotFoundError, HttpStatus.NOT_FOUND],
  // Configuration problems of this Dockyard, named so an admin can fix them (no value is in them).
  [SecretsKeyMissingError, HttpStatus.SERVICE_UNAVAILABLE],
  [SecretUnreadableError, HttpStatus.INTERNAL_SERVER_ERROR],
];

/** Seconds a client should wait before sending again while the database is away. */
const RETRY_AFTER_S = 5;

/** The one place where domain errors become HTTP answers: `{ statusCode, error, message }`. */
@Catch()
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (err instanceof HttpException) {
      const body = err.getResponse();
      const status = err.getStatus();
      res.status(status).json(typeof body === 'string' ? { statusCode: status, message: body } : body);
      return;
    }
    // body-parser's own errors (bad JSON, too large) carry their HTTP status.
    const httpish = err as { status?: number; type?: string; message?: string; length?: number; limit?: number };
    if (typeof httpish.status === 'number' && httpish.status >= 400 && httpish.status < 500) {
      const message =
        httpish.type === 'entity.too.large'
          ? `the body is ${httpish.length ? `${httpish.length} bytes` : 'too large'}; this route takes at most ${httpish.limit} bytes`
          : (httpish.message ?? 'bad request');
      res.status(httpish.status).json({ statusCode: httpish.status, error: httpish.type ?? 'bad_request', message });
      return;
    }
    if (isDatabaseUnavailable(err)) {
      // Retryable: GitHub shows a failed delivery that can be redelivered, a client backs off.
      this.logger.warn(`database unavailable: ${(err as Error).message}`);
      res.setHeader('Retry-After', String(RETRY_AFTER_S));
      res.status(HttpStatus.SERVICE_UNAVAILABLE).json({
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'ServiceUnavailable',
        message: 'the database is unavailable; retry shortly',
      });
      return;
    }
    const match = STATUS.find(([type]) => err instanceof type);
    if (match) {
      const [type, status] = match;
      res
        .status(status)
        .json({ statusCode: status, error: type.name.replace(/Error$/, ''), message: (err as Error).message });
      return;
    }
    this.logger.error(err);
    res.status(500).json({ statusCode: 500, message: 'internal error' });
  }
}
