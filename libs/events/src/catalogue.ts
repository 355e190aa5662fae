import { z } from 'zod';

/**
 * The event catalogue: what Dockyard tells people and bots. Every event has the same envelope
 * (project, stage, digest, commit, actor, a dashboard link) and a `data` object of its type. The
 * version is the catalogue's: fields are only added within a version; a change of meaning is a new one.
 */
export const CATALOGUE_VERSION = 1;

const promotion = { promotionId: z.string().describe('the promotion (GET /api/v1/promotions/{id})') };
const build = {
  buildId: z.string().describe('the build (GET /api/v1/builds/{id})'),
  ref: z.string(),
  branch: z.string().nullable(),
};
const deploy = {
  environment: z.string().describe('the environment deployed to'),
  deployId: z.string().nullable().describe('the deploy, when the environment records one'),
};
const reason = z.string().describe('why, in one line');

/** Each event type and the shape of its `data`. Extra fields may appear; the named ones are always there. */
export const EVENT_DATA = {
  'build.started': z.looseObject({ ...build }),
  'build.passed': z.looseObject({ ...build, durationMs: z.number().int().nullable() }),
  'build.failed': z.looseObject({ ...build, status: z.enum(['failed', 'error']), reason }),
  'promotion.waiting': z.looseObject({
    ...promotion,
    from: z.string().nullable(),
    to: z.string(),
    for: z.enum(['approval', 'freeze', 'tests', 'signoff', 'other']).describe('what it waits for'),
    waitingFor: reason.describe('what it waits for, in words'),
    approvals: z.object({ needed: z.number().int(), given: z.number().int() }),
    mayApprove: z
      .array(z.string())
      .describe('logins of the people who may approve it now (approver role, named approvers, separation of duties)'),
    approveUrl: z.string().describe('the dashboard page with its Approve and Reject buttons'),
    rejectUrl: z.string(),
  }),
  'promotion.promoted': z.looseObject({
    ...promotion,
    from: z.string().nullable(),
    to: z.string(),
    forced: z.boolean(),
  }),
  'promotion.failed': z.looseObject({ ...promotion, to: z.string(), status: z.enum(['blocked', 'failed']), reason }),
  'promotion.rejected': z.looseObject({ ...promotion, to: z.string(), by: z.string(), reason }),
  'stage.rolled_back': z.looseObject({
    ...promotion,
    previousDigest: z.string().nullable().describe('what the stage held before the rollback'),
  }),
  'deploy.started': z.looseObject({ ...deploy }),
  'deploy.verified': z.looseObject({ ...deploy }),
  'deploy.failed': z.looseObject({ ...deploy, reason }),
  'deploy.rolled_back': z.looseObject({ ...deploy, reason, previousDigest: z.string().nullable() }),
  'signoff.requested': z.looseObject({
    promotionId: z.string().nullable(),
    signoffId: z.string().nullable(),
    from: z.array(z.string()).describe('who may give it'),
  }),
  'signoff.given': z.looseObject({
    promotionId: z.string().nullable(),
    signoffId: z.string().nullable(),
    by: z.string(),
  }),
  'environment.drifted': z.looseObject({
    environment: z.string(),
    expected: z.string().nullable().describe('the digest Dockyard put there'),
    running: z.string().nullable().describe('the digest found running'),
    detail: z.string(),
  }),
} as const;

export type EventType = keyof typeof EVENT_DATA;
export const EVENT_TYPES = Object.keys(EVENT_DATA) as EventType[];
export type EventData<T extends EventType> = z.input<(typeof EVENT_DATA)[T]>;

export const eventEnvelope = z.object({
  id: z.string().describe('increasing; send it back as Last-Event-ID to resume the stream'),
  type: z.enum(EVENT_TYPES as [EventType, ...EventType[]]),
  version: z.literal(CATALOGUE_VERSION),
  at: z.string().describe('ISO 8601 time'),
  project: z.string().describe('owner/name'),
  stage: z.string().nullable(),
  digest: z.string().nullable().describe('sha256:… of the image'),
  commit: z.string().nullable().describe('the git commit the image was built from'),
  actor: z.string().describe('who caused it: a login, "bot for alice", or "system"'),
  subject: z.string().nullable().describe('the id of the build, promotion or deploy'),
  link: z.string().describe('the dashboard page about it'),
  data: z.looseObject({}),
});

/** One event as the stream, the hooks and the API show it. */
export type DockyardEvent = Omit<z.infer<typeof eventEnvelope>, 'data' | 'type'> & {
  type: EventType;
  data: Record<string, unknown>;
};

export function isEventType(type: string): type is EventType {
  return type in EVENT_DATA;
}

/** OpenAPI (3.0) component schemas: `DockyardEvent` (the envelope) and one `DockyardEvent_<type>` per type. */
export function eventSchemas(): Record<string, Record<string, unknown>> {
  const schemas: Record<string, Record<string, unknown>> = {
    DockyardEvent: z.toJSONSchema(eventEnvelope, { target: 'openapi-3.0' }) as Record<string, unknown>,
  };
  for (const type of EVENT_TYPES) {
    schemas[schemaName(type)] = z.toJSONSchema(
      eventEnvelope
        .extend({ type: z.literal(type), data: EVENT_DATA[type] })
        .describe(`${type} (version ${CATALOGUE_VERSION})`),
      { target: 'openapi-3.0' },
    ) as Record<string, unknown>;
  }
  return schemas;
}

export function schemaName(type: EventType): string {
  return `DockyardEvent_${type.replace('.', '_')}`;
}
