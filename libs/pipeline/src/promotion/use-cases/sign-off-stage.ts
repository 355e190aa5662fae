import { Injectable } from '@nestjs/common';
import { AuditRepository, ProjectRepository, PromotionRepository, SignOff, SignOffRepository } from '@dockyard/db';
import { ConflictError, ForbiddenError, NotFoundError } from '../../errors';
import { ProjectPolicies } from '../project-policies';
import { auditActor } from '../../projects/audit-actor';
import { Requester, short } from '../requester';
import { signOffRefusal } from '../signoff-rules';
import { EvaluatePromotion } from './evaluate-promotion';

export interface SignOffCommand {
  owner: string;
  name: string;
  /** The stage where the digest was tested (what it now holds). */
  stage: string;
  result: 'passes' | 'fails';
  comment?: string;
  /** The digest the tester tested: refused if the stage holds another one by now. */
  digest?: string;
  requester: Requester;
}

/**
 * A tester's "tested: passes" / "fails" on the digest a stage holds. Who may give one is the next
 * stage's `signoff` rule (its role and user lists); a "fails" keeps the digest from going further.
 * Promotions waiting on it are looked at again at once.
 */
@Injectable()
export class SignOffStage {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly promotions: PromotionRepository,
    private readonly policies: ProjectPolicies,
    private readonly signoffs: SignOffRepository,
    private readonly audit: AuditRepository,
    private readonly evaluate: EvaluatePromotion,
  ) {}

  async execute(cmd: SignOffCommand): Promise<SignOff> {
    const project = await this.projects.find(cmd.owner, cmd.name);
    if (!project) throw new NotFoundError(`project ${cmd.owner}/${cmd.name} is not registered`);
    const stages = await this.promotions.stages(project.id);
    const stage = stages.find((s) => s.name === cmd.stage);
    if (!stage) throw new NotFoundError(`${cmd.owner}/${cmd.name} has no stage ${cmd.stage}`);
    const release = stage.releases[0];
    if (!release) throw new ConflictError(`${cmd.stage} holds no image yet: there is nothing to sign off`);
    if (cmd.digest && cmd.digest !== release.digest) {
      throw new ConflictError(
        `${cmd.stage} now holds ${short(release.digest)}, not ${short(cmd.digest)}: test that one, then sign it off`,
      );
    }
    const { rules } = await this.policies.forImage(project, release.image);
    const index = rules.stages.findIndex((s) => s.name === cmd.stage);
    const next = index >= 0 ? rules.stages[index + 1] : undefined;
    const refusal = signOffRefusal(cmd.requester.user, next?.signoff ?? null, null);
    const subject = `${cmd.owner}/${cmd.name}@${cmd.stage}`;
    if (refusal) {
      await this.audit.record({
        ...auditActor(cmd.requester),
        action: 'signoff.refused',
        projectId: project.id,
        subject,
        detail: { digest: release.digest, reason: refusal },
      });
      throw new ForbiddenError(refusal);
    }
    const row = await this.signoffs.record(
      {
        projectId: project.id,
        stage: cmd.stage,
        digest: release.digest,
        result: cmd.result,
        comment: cmd.comment ?? null,
        userId: cmd.requester.user.id || null,
        login: cmd.requester.user.login,
        channel: cmd.requester.channel,
      },
      {
        ...auditActor(cmd.requester),
        action: cmd.result === 'passes' ? 'stage.signed_off' : 'stage.signed_off_failing',
        projectId: project.id,
        subject,
        detail: { digest: release.digest, result: cmd.result, comment: cmd.comment ?? null },
      },
    );
    const waiting = (await this.promotions.open(project.id)).filter(
      (p) => p.fromStage === cmd.stage && p.digest === release.digest,
    );
    for (const p of waiting) await this.evaluate.execute({ promotion: p });
    return row;
  }
}
