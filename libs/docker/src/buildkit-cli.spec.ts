import { ImageBuildError } from './docker-engine';
import { buildError } from './buildkit-cli';

describe('buildError (the end of a failed `docker build` output)', () => {
  it('names the Dockerfile line and reason of a parse error, as a permanent failure', () => {
    const err = buildError([
      '#2 transferring dockerfile: 34B done',
      'failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 4: unknown instruction: FROMM',
    ]);
    expect(err).toBeInstanceOf(ImageBuildError);
    expect(err.message).toBe('Dockerfile line 4: unknown instruction: FROMM');
  });

  it('names a "# syntax=" frontend image that cannot be pulled', () => {
    const err = buildError([
      '#3 resolve image config for docker.io/docker/dockerfile:1.4',
      '#3 ERROR: failed to do request: Head "https://registry-1.docker.io/v2/docker/dockerfile/manifests/1.4": dial tcp: no such host',
      'failed to solve with frontend dockerfile.v0: failed to solve with frontend gateway.v0: failed to do request: Head "https://registry-1.docker.io/v2/docker/dockerfile/manifests/1.4": dial tcp: no such host',
    ]);
    expect(err).toBeInstanceOf(ImageBuildError);
    expect(err.message).toBe(
      'the Dockerfile\'s "# syntax=" frontend docker.io/docker/dockerfile:1.4 cannot be pulled: failed to do request: Head "https://registry-1.docker.io/v2/docker/dockerfile/manifests/1.4": dial tcp: no such host',
    );
  });

  it('keeps the failing step of a RUN as the reason', () => {
    const err = buildError(['#6 0.3 boom', 'executor failed running [/bin/sh -c exit 3]: exit code: 3']);
    expect(err).toBeInstanceOf(ImageBuildError);
    expect(err.message).toBe('executor failed running [/bin/sh -c exit 3]: exit code: 3');
  });

  it("treats an engine it cannot reach as transient (retried), not as the author's mistake", () => {
    const err = buildError([
      'Cannot connect to the Docker daemon at unix:///nowhere.sock. Is the docker daemon running?',
    ]);
    expect(err).not.toBeInstanceOf(ImageBuildError);
    expect(err.message).toMatch(/unreachable/);
  });
});
