import { PushEvent, decidePush, repositoryOf } from './push-event';

const sha = 'a'.repeat(40);
const push = (over: Partial<PushEvent> = {}): PushEvent => ({
  ref: 'refs/heads/main',
  after: sha,
  repository: { name: 'web', owner: { login: 'acme' } },
  pusher: { name: 'alice' },
  head_commit: { id: sha, message: 'Fix the thing\n\nLonger text', timestamp: '2026-11-25T10:00:00+01:00' },
  ...over,
});

describe('decidePush', () => {
  it('builds a branch push at its head', () => {
    expect(decidePush(push(), { buildTags: false })).toEqual({
      build: true,
      ref: 'refs/heads/main',
      branch: 'main',
      sha,
      pusher: 'alice',
      message: 'Fix the thing',
      committedAt: new Date('2026-11-25T09:00:00Z'),
    });
  });

  it('ignores a branch deletion with a reason', () => {
    expect(decidePush(push({ deleted: true, after: '0'.repeat(40) }), { buildTags: false })).toEqual({
      build: false,
      reason: 'refs/heads/main was deleted',
    });
  });

  it('ignores tags unless tag builds are on', () => {
    const tag = push({ ref: 'refs/tags/v1.0.0' });
    expect(decidePush(tag, { buildTags: false })).toMatchObject({
      build: false,
      reason: expect.stringMatching(/tag push/),
    });
    expect(decidePush(tag, { buildTags: true })).toMatchObject({ build: true, branch: null });
  });

  it('refuses a payload that is not a push', () => {
    expect(decidePush({} as PushEvent, { buildTags: false })).toMatchObject({ build: false });
  });
});

describe('repositoryOf', () => {
  it('reads owner login or name', () => {
    expect(repositoryOf(push())).toEqual({ owner: 'acme', name: 'web' });
    expect(repositoryOf(push({ repository: { name: 'web', owner: { name: 'acme' } } }))).toEqual({
      owner: 'acme',
      name: 'web',
    });
  });
});
