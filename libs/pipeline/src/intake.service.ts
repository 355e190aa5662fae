import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { DeliveryRepository, NewBuild, Prisma, Project, ProjectRepository } from '@dockyard/db';
import { WebhookVerifier } from '@dockyard/github';
import { Metrics } from '@dockyard/observability';
import { JobQueue } from '@dockyard/queue';
import { InvalidRequestError, SignatureRejectedError } from './errors';
import { PullRequestEvent, decidePullRequest } from './pull-request-event';
import { PushEvent, decidePush, repositoryOf } from './push-event';
import { RegisterProject } from './projects/register-project';
import { StatusPublisher } from './status-publisher';

const PROJECT_CACHE_MS = 5_000;
/** How many `"full_name"` keys of a delivery are read to find whose secret signed it (a pull request names three). */
const MAX_CLAIMS = 5;
const FULL_NAME = '"full_name"';
const CLAIMED_REPOSITORY = /^"full_name"\s*:\s*"([\w.-]{1,100})\/([\w.-]{1,100})"/;

export interface IncomingDelivery {
  deliveryId: string;
  event: string;
  signature: string | undefined;
  /** The body as it came: the signature is checked on these bytes before they are parsed. */
  rawBody: Buffer;
}

export type IntakeResult =
  | { outcome: 'accepted'; buildId: string; superseded: string[] }
  | { outcome: 'duplicate'; buildId: string | null; reason: string | null }
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'ping' };

/**
 * Webhook intake: trust the delivery (signature), record it with the build it asks for in one
 * transaction, then queue the build. Postgres first: if Redis is away the build stays queued and
 * the reconciler adds its job later.
 */
@Injectable()
export class WebhookIntake {
  private readonly logger = new Logger(WebhookIntake.name);
  private readonly projectCache = new Map<string, { project: Project | null; until: number }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly projects: ProjectRepository,
    private readonly deliveries: DeliveryRepository,
    private readonly verifier: WebhookVerifier,
    private readonly queue: JobQueue,
    private readonly statuses: StatusPublisher,
    private readonly metrics: Metrics,
    private readonly register: RegisterProject,
  ) {}

  async receive(input: IncomingDelivery): Promise<IntakeResult> {
    const signer = await this.signerOf(input.rawBody, input.signature);
    let payload: unknown;
    try {
      payload = JSON.parse(input.rawBody.toString('utf8'));
    } catch {
      throw new InvalidRequestError('the body is not valid JSON');
    }
    const event = (payload ?? {}) as PushEvent;
    const repo = repositoryOf(event);
    let project = repo ? await this.findProject(repo.owner, repo.name) : null;
    // A project's own secret vouches for that project's deliveries only; the global one for the others.
    if ((project?.webhookSecret ? project.id : null) !== (signer === 'global' ? null : signer.id)) {
      this.reject('bad_signature', 'X-Hub-Signature-256 does not match');
    }

    const base = {
      deliveryId: input.deliveryId,
      event: input.event,
      signature: 'valid',
      payload: payload as Prisma.InputJsonValue,
    };
    const ignore = async (reason: string): Promise<IntakeResult> => {
      const recorded = await this.deliveries.record({
        ...base,
        outcome: 'ignored',
        reason,
        projectId: project?.id ?? null,
        build: null,
      });
      this.count(input.event, recorded.duplicate ? 'duplicate' : 'ignored');
      return { outcome: 'ignored', reason };
    };

    if (input.event === 'ping') {
      const recorded = await this.deliveries.record({
        ...base,
        outcome: 'ping',
        reason: null,
        projectId: project?.id ?? null,
        build: null,
      });
      this.count('ping', recorded.duplicate ? 'duplicate' : 'ping');
      return { outcome: 'ping' };
    }
    if (input.event !== 'push' && input.event !== 'pull_request') {
      return ignore(`the ${input.event} event is not handled`);
    }
    if (!repo) return ignore('the payload names no repository');
    const wanted = this.buildOf(input.event, payload);
    if ('reason' in wanted) return ignore(wanted.reason);
    if (!project) {
      if (input.event !== 'push')
        return ignore(`repository ${repo.owner}/${repo.name} is not registered with Dockyard`);
      if (!this.config.github.autoRegister || !event.repository.clone_url) {
        return ignore(`repository ${repo.owner}/${repo.name} is not registered with Dockyard`);
      }
      let refused: string | null = null;
      project = await this.register
        .execute(
          { ...repo, cloneUrl: event.repository.clone_url, defaultBranch: event.repository.default_branch },
          { actor: wanted.pusher ?? 'github', channel: 'webhook' },
        )
        .catch((err: Error) => {
          refused = err.message;
          return this.projects.find(repo.owner, repo.name);
        });
      if (!project) return ignore(`repository ${repo.owner}/${repo.name} could not be registered: ${refused}`);
      this.logger.log(`registered ${repo.owner}/${repo.name} from its first push`);
    }

    const recorded = await this.deliveries.record({
      ...base,
      outcome: 'accepted',
      reason: null,
      projectId: project.id,
      build: { projectId: project.id, ...wanted },
    });
    if (recorded.duplicate) {
      this.count(input.event, 'duplicate');
      return { outcome: 'duplicate', buildId: recorded.buildId, reason: recorded.reason };
    }
    this.count(input.event, 'accepted');
    const buildId = recorded.buildId!;
    await this.enqueue(buildId);
    return { outcome: 'accepted', buildId, superseded: recorded.superseded };
  }

  /** The build a push or a pull request asks for, or why there is none. */
  private buildOf(event: 'push' | 'pull_request', payload: unknown): Omit<NewBuild, 'projectId'> | { reason: string } {
    if (event === 'pull_request') {
      const pr = decidePullRequest(payload as PullRequestEvent);
      if (!pr.build) return { reason: pr.reason };
      return {
        trigger: 'pull_request',
        ref: pr.ref,
        branch: null,
        sha: pr.sha,
        pusher: pr.author,
        message: pr.title,
        pullRequest: pr.number,
        fromFork: pr.fromFork,
      };
    }
    const push = decidePush(payload as PushEvent, { buildTags: this.config.github.buildTags });
    if (!push.build) return { reason: push.reason };
    const { ref, branch, sha, pusher, message, committedAt } = push;
    return { trigger: 'push', ref, branch, sha, pusher, message, committedAt };
  }

  /**
   * Queue a recorded build; if Redis is away it stays queued in Postgres for the reconciler. With
   * `again`, a job of the build that already ended is replaced (the build was handed back or its
   * worker was lost).
   */
  async enqueue(buildId: string, again = false): Promise<boolean> {
    try {
      if (again) await this.queue.ensure('build.run', { buildId });
      else await this.queue.add('build.run', { buildId });
    } catch (err) {
      this.logger.warn(`build ${buildId} is recorded but not queued yet: ${(err as Error).message}`);
      return false;
    }
    await this.statuses.announce(buildId, 'build', 'queued');
    await this.statuses.announce(buildId, 'test', 'queued');
    return true;
  }

  /**
   * Whose secret signed these bytes, checked before they are parsed: the projects with their own secret
   * that the body names (found by a scan, not a parse), then the global secret. Otherwise refused.
   */
  private async signerOf(body: Buffer, signature: string | undefined): Promise<Project | 'global'> {
    if (!signature) this.reject('no_signature', 'X-Hub-Signature-256 is missing');
    const global = this.config.github.webhookSecret;
    let secrets = global ? 1 : 0;
    for (const [owner, name] of claimedRepositories(body)) {
      const project = await this.findProject(owner, name);
      if (!project?.webhookSecret) continue;
      secrets++;
      if (this.verifier.verify(project.webhookSecret, body, signature)) return project;
    }
    if (global && this.verifier.verify(global, body, signature)) return 'global';
    if (!secrets) this.reject('no_secret', 'no webhook secret is configured for this repository');
    this.reject('bad_signature', 'X-Hub-Signature-256 does not match');
  }

  /**
   * Projects rarely change and every delivery needs its own: a few seconds of cache saves a query
   * on the hot path. A new secret or registration applies within PROJECT_CACHE_MS.
   */
  private async findProject(owner: string, name: string): Promise<Project | null> {
    const key = `${owner}/${name}`;
    const hit = this.projectCache.get(key);
    if (hit && hit.until > Date.now()) return hit.project;
    const project = await this.projects.find(owner, name);
    if (this.projectCache.size > 10_000) this.projectCache.clear();
    this.projectCache.set(key, { project, until: Date.now() + PROJECT_CACHE_MS });
    return project;
  }

  private reject(reason: string, message: string): never {
    this.metrics.webhookRejected.inc({ reason });
    this.logger.warn(`webhook refused: ${message}`);
    throw new SignatureRejectedError(message);
  }

  private count(event: string, outcome: string): void {
    this.metrics.webhookDeliveries.inc({ event, outcome });
  }
}

/** The repositories a delivery names (`"full_name": "owner/name"`), read from its first few such keys without parsing it. */
function claimedRepositories(body: Buffer): [string, string][] {
  const claims: [string, string][] = [];
  let at = body.indexOf(FULL_NAME);
  for (let seen = 0; at !== -1 && seen < MAX_CLAIMS; seen++, at = body.indexOf(FULL_NAME, at + 1)) {
    const claim = CLAIMED_REPOSITORY.exec(body.toString('utf8', at, at + 256));
    if (claim) claims.push([claim[1], claim[2]]);
  }
  return claims;
}
