import { approvalRefusal, frozenUntil, identityOf } from './policy';

describe('frozenUntil', () => {
  const at = (iso: string) => new Date(iso);

  it('is frozen inside a from/to window, until its end', () => {
    const freeze = [{ from: '2026-12-24T00:00:00Z', to: '2026-12-27T00:00:00Z' }];
    expect(frozenUntil(freeze, at('2026-12-25T12:00:00Z'))).toEqual(at('2026-12-27T00:00:00Z'));
    expect(frozenUntil(freeze, at('2026-12-27T00:00:00Z'))).toBeNull();
    expect(frozenUntil(freeze, at('2026-12-23T23:59:59Z'))).toBeNull();
  });

  it('opens a cron window at each firing for its duration', () => {
    // Every Friday from 16:00 for 64 hours (the weekend).
    const freeze = [{ cron: '0 16 * * 5', duration: 64 * 3_600_000 }];
    expect(frozenUntil(freeze, at('2026-11-28T10:00:00Z'))).toEqual(at('2026-11-30T08:00:00Z'));
    expect(frozenUntil(freeze, at('2026-11-27T16:00:00Z'))).toEqual(at('2026-11-30T08:00:00Z'));
    expect(frozenUntil(freeze, at('2026-11-26T10:00:00Z'))).toBeNull();
  });
});

describe('approvalRefusal', () => {
  const bob = { id: 'u-bob', login: 'bob', githubLogin: 'bobgh', role: 'approver' };
  const base = { approver: bob, requesterId: 'u-alice', contributors: ['alice'], policy: { separationOfDuties: true } };

  it('lets a second person approve', () => expect(approvalRefusal(base)).toBeNull());

  it('refuses the requester', () => {
    expect(approvalRefusal({ ...base, requesterId: 'u-bob' })).toBe(
      'bob requested this promotion and may not approve it',
    );
  });

  it('refuses a pusher or author of the promoted commits, by GitHub login', () => {
    expect(
      approvalRefusal({ ...base, contributors: ['alice', identityOf('12345+BobGH@users.noreply.github.com')] }),
    ).toBe('bob pushed or authored a commit in this promotion (bobgh) and may not approve it');
  });

  it('allows contributors where separation of duties is off', () => {
    expect(approvalRefusal({ ...base, requesterId: 'u-bob', policy: { separationOfDuties: false } })).toBeNull();
  });

  it('needs the approver role and, when listed, a named approver', () => {
    expect(approvalRefusal({ ...base, approver: { ...bob, role: 'developer' } })).toMatch(
      /needs the approver or admin role/,
    );
    expect(approvalRefusal({ ...base, policy: { separationOfDuties: true, approvers: ['carol'] } })).toMatch(
      /not among this stage's approvers/,
    );
  });
});
