import { Injectable } from '@nestjs/common';
import { PolicyRepository, ProjectRepository, PromotionRepository } from '@dockyard/db';
import { JobQueue } from '@dockyard/queue';
import { ForbiddenError, NotFoundError } from '../../errors';
import { requireProject } from '../../projects';
import { PolicyInForce, ProjectPolicies } from '../project-policies';
import { parsePolicy } from '../project-policy';
import { auditActor } from '../../projects/audit-actor';
import { Requester } from '../requester';

export interface ChangePolicyCommand {
  owner: string;
  name: string;
  /** The whole policy, or one stage's fields changed in the current one. */
  change: { policy: unknown } | { stage: string; fields: Record<string, unknown> };
  comment?: string;
  requester: Requester;
}

/**
 * An admin changes a project's gates: the result is validated, stored as a new version (who, when,
 * why) and audited in one transaction; waiting promotions are evaluated again under it.
 */
@Injectable()
export class ChangePolicy {
  constructor(
    private readonly policies: ProjectPolicies,
    private readonly versions: PolicyRepository,
    private readonly projects: ProjectRepository,
    private readonly promotions: PromotionRepository,
    private readonly queue: JobQueue,
  ) {}

  async execute(command: ChangePolicyCommand): Promise<PolicyInForce> {
    const { requester } = command;
    if (requester.user.role !== 'admin') throw new ForbiddenError("only an admin may change a project's policy");
    const project = await requireProject(this.projects, `${command.owner}/${command.name}`);
    let input: unknown;
    if ('policy' in command.change) input = command.change.policy;
    else {
      const { stage, fields } = command.change;
      const current = (await this.policies.current(project.id)).rules;
      if (!current.stages.some((s) => s.name === stage))
        throw new NotFoundError(`${project.owner}/${project.name} has no stage "${stage}"`);
      input = {
        ...current,
        stages: current.stages.map((s) => (s.name === stage ? { ...s, ...fields, name: stage } : s)),
      };
    }
    const rules = parsePolicy(input);
    const row = await this.versions.append({
      projectId: project.id,
      policy: JSON.parse(JSON.stringify(rules)),
      stageNames: rules.stages.map((s) => s.name),
      createdBy: requester.actor,
      userId: requester.user.id || null,
      comment: command.comment,
      audit: {
        ...auditActor(requester),
        action: 'policy.changed',
        projectId: project.id,
        subject: `${project.owner}/${project.name}`,
      },
    });
    // Waiting promotions may pass (or wait on something else) under the new rules.
    for (const p of await this.promotions.open(project.id)) {
      await this.queue.add('promotion.run', { promotionId: p.id, at: Date.now() }, { delay: 0 });
    }
    return { version: row.version, rules, createdBy: row.createdBy, createdAt: row.createdAt };
  }
}
