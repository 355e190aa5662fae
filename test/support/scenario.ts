import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { Role } from '@dockyard/db';
import { AccessTokens, Scope } from '@dockyard/pipeline';
import { TestApp, deliver, eventually, pushPayload, registerProject } from './app';
import { GitRepo } from './git-repo';

/** A registered project backed by a git repository on disk, with users and their API tokens. */
export class Scenario {
  readonly repo = new GitRepo();
  readonly owner = `s${randomBytes(4).toString('hex')}`;
  readonly name = 'web';
  readonly tokens: Record<string, string> = {};

  constructor(private readonly t: TestApp) {}

  get image(): string {
    return `${this.owner}/${this.name}`;
  }

  get slug(): string {
    return `${this.owner}/${this.name}`;
  }

  async user(login: string, role: Role, scopes: Scope[], password?: string): Promise<void> {
    const access = this.t.app.get(AccessTokens);
    const u = await access.createUser(login, role, { githubLogin: login, password });
    this.tokens[login] = (await access.issue(u, 'e2e', scopes)).token;
  }

  as(login: string): Record<string, string> {
    return { Authorization: `Bearer ${this.tokens[login]}` };
  }

  async register(admin: string): Promise<void> {
    await registerProject(this.t.url, this.tokens[admin], this.owner, this.name, this.repo.cloneUrl);
  }

  /** Commit, deliver the push webhook, wait for the build to pass; returns the image digest. */
  async pushAndBuild(files: Record<string, string>, reader: string): Promise<string> {
    const build = await this.pushBuild(this.repo.commit(files, 'change'), reader);
    if (build.status !== 'passed') throw new Error(`build ${build.id} ${build.status}: ${build.reason}`);
    return build.image.digest as string;
  }

  /** Deliver a push of `sha` (by `pusher`) and wait for its build to end; returns the build as the API shows it. */
  async pushBuild(sha: string, reader: string, pusher = 'alice') {
    const payload = {
      ...pushPayload(this.owner, this.name, sha),
      pusher: { name: pusher, email: `${pusher}@example.com` },
    };
    const res = await deliver(this.t.url, payload).expect(202);
    return eventually(
      async () => {
        const b = (await request(this.t.url).get(`/api/v1/builds/${res.body.buildId}`).set(this.as(reader))).body;
        return b.status !== 'queued' && b.status !== 'running' && b;
      },
      120_000,
      'build',
    );
  }

  promote(login: string, digest: string, to: string, extra: Record<string, unknown> = {}) {
    return request(this.t.url)
      .post('/api/v1/promotions')
      .set(this.as(login))
      .send({ project: this.slug, digest, to, ...extra });
  }

  async promotion(id: string, reader: string) {
    return (await request(this.t.url).get(`/api/v1/promotions/${id}`).set(this.as(reader))).body;
  }

  settled(id: string, reader: string) {
    return eventually(
      async () => {
        const p = await this.promotion(id, reader);
        return !['waiting', 'testing', 'promoting'].includes(p.status) && p;
      },
      60_000,
      `promotion ${id}`,
    );
  }

  async stages(reader: string): Promise<Record<string, string | null>> {
    const res = await request(this.t.url).get(`/api/v1/projects/${this.slug}/stages`).set(this.as(reader));
    return Object.fromEntries((res.body as { stage: string; digest: string | null }[]).map((s) => [s.stage, s.digest]));
  }

  remove(): void {
    this.repo.remove();
  }
}
