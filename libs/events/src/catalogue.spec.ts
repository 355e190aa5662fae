import { EVENT_DATA, EVENT_TYPES, eventSchemas, schemaName } from './catalogue';

describe('event catalogue', () => {
  it('names every event the issue asks for', () => {
    expect(EVENT_TYPES).toEqual([
      'build.started',
      'build.passed',
      'build.failed',
      'promotion.waiting',
      'promotion.promoted',
      'promotion.failed',
      'promotion.rejected',
      'stage.rolled_back',
      'deploy.started',
      'deploy.verified',
      'deploy.failed',
      'deploy.rolled_back',
      'signoff.requested',
      'signoff.given',
      'environment.drifted',
    ]);
  });

  it('has an OpenAPI schema per type with the common envelope and its own data', () => {
    const schemas = eventSchemas();
    for (const type of EVENT_TYPES) {
      const s = schemas[schemaName(type)] as { required: string[]; properties: Record<string, { enum?: string[] }> };
      expect(s.required).toEqual(
        expect.arrayContaining(['id', 'type', 'project', 'stage', 'digest', 'commit', 'actor', 'link', 'data']),
      );
      expect(s.properties.type.enum).toEqual([type]);
    }
    const waiting = schemas.DockyardEvent_promotion_waiting as { properties: { data: { required: string[] } } };
    expect(waiting.properties.data.required).toEqual(
      expect.arrayContaining(['for', 'waitingFor', 'mayApprove', 'approveUrl']),
    );
  });

  it('refuses data that lacks what the catalogue promises', () => {
    expect(EVENT_DATA['build.failed'].safeParse({ buildId: 'b', ref: 'r', branch: null }).success).toBe(false);
    expect(
      EVENT_DATA['build.failed'].safeParse({
        buildId: 'b',
        ref: 'r',
        branch: null,
        status: 'failed',
        reason: 'x',
        extra: 1,
      }).success,
    ).toBe(true);
  });
});
