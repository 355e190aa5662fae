/** Domain errors: plain Errors that the API maps to HTTP once (see the api's DomainErrorFilter). */
export class NotFoundError extends Error {}
export class ConflictError extends Error {}
export class InvalidRequestError extends Error {}
/** A webhook whose signature cannot be trusted: nothing of it is recorded. */
export class SignatureRejectedError extends Error {}
export class UnauthenticatedError extends Error {}
/** Known, but not allowed: the message says why. */
export class ForbiddenError extends Error {}
