import { PullRequestEvent, decidePullRequest } from './pull-request-event';

const SHA = 'a'.repeat(40);

function event(action: string, headRepo: string | null = 'acme/web'): PullRequestEvent {
  return {
    action,
    number: 7,
    pull_request: {
      title: 'Add a thing\n\nmore',
      user: { login: 'mallory' },
      head: { sha: SHA, ref: 'feature', repo: headRepo === null ? null : { full_name: headRepo } },
      base: { ref: 'main', repo: { full_name: 'acme/web' } },
    },
    repository: { name: 'web', full_name: 'acme/web', owner: { login: 'acme' } },
  };
}

describe('decidePullRequest', () => {
  it.each(['opened', 'synchronize', 'reopened'])('builds the head when a pull request is %s', (action) => {
    expect(decidePullRequest(event(action))).toEqual({
      build: true,
      number: 7,
      ref: 'refs/pull/7/head',
      sha: SHA,
      fromFork: false,
      author: 'mallory',
      title: 'Add a thing',
    });
  });

  it('ignores other actions, saying which', () => {
    expect(decidePullRequest(event('closed'))).toEqual({
      build: false,
      reason: 'pull request #7 closed: only opened, synchronize and reopened build',
    });
  });

  it('marks a head from another repository, or from a deleted one, as a fork', () => {
    expect(decidePullRequest(event('opened', 'mallory/web'))).toMatchObject({ build: true, fromFork: true });
    expect(decidePullRequest(event('opened', null))).toMatchObject({ build: true, fromFork: true });
  });
});
