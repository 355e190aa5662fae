import type { PolicyRepository, ProjectRepository, PromotionFull, PromotionRepository, User } from '@dockyard/db';
import type { JobQueue } from '@dockyard/queue';
import { ForbiddenError, InvalidRequestError, NotFoundError } from '../../errors';
import type { ProjectPolicies } from '../project-policies';
import { DEFAULT_POLICY } from '../project-policy';
import type { Requester } from '../requester';
import { ChangePolicy } from './change-policy';

const project = { id: 'proj', owner: 'acme', name: 'web' };
const as = (role: User['role']): Requester => ({
  user: { id: `u-${role}`, login: role, role } as User,
  channel: 'api',
  actor: role,
});

function setup() {
  const policies: Pick<ProjectPolicies, 'current'> = {
    current: jest.fn().mockResolvedValue({ version: 1, rules: DEFAULT_POLICY, createdBy: 'default', createdAt: null }),
  };
  const versions: Pick<PolicyRepository, 'append'> = {
    append: jest.fn(async (input) => ({ version: 2, createdBy: input.createdBy, createdAt: new Date() }) as never),
  };
  const projects: Pick<ProjectRepository, 'find'> = { find: jest.fn().mockResolvedValue(project) };
  const promotions: Pick<PromotionRepository, 'open'> = {
    open: jest.fn().mockResolvedValue([{ id: 'waiting-1' } as PromotionFull]),
  };
  const queue: Pick<JobQueue, 'add'> = { add: jest.fn() };
  const useCase = new ChangePolicy(
    policies as ProjectPolicies,
    versions as PolicyRepository,
    projects as ProjectRepository,
    promotions as PromotionRepository,
    queue as JobQueue,
  );
  return { useCase, versions, queue };
}

describe('ChangePolicy', () => {
  it('is for admins only', async () => {
    const { useCase, versions } = setup();
    await expect(
      useCase.execute({ owner: 'acme', name: 'web', change: { policy: DEFAULT_POLICY }, requester: as('approver') }),
    ).rejects.toThrow(ForbiddenError);
    expect(versions.append).not.toHaveBeenCalled();
  });

  it("changes one stage's fields in a new version, audited, and evaluates waiting promotions again", async () => {
    const { useCase, versions, queue } = setup();
    const result = await useCase.execute({
      owner: 'acme',
      name: 'web',
      change: { stage: 'prod', fields: { approvals: 2 } },
      comment: 'two people for prod',
      requester: as('admin'),
    });
    expect(result.version).toBe(2);
    expect(result.rules.stages[2]).toMatchObject({ name: 'prod', approvals: 2, separationOfDuties: true });
    expect(versions.append).toHaveBeenCalledWith(
      expect.objectContaining({
        projectId: 'proj',
        stageNames: ['dev', 'test', 'prod'],
        createdBy: 'admin',
        comment: 'two people for prod',
        audit: expect.objectContaining({ action: 'policy.changed', actor: 'admin' }),
      }),
    );
    expect(queue.add).toHaveBeenCalledWith('promotion.run', expect.objectContaining({ promotionId: 'waiting-1' }), {
      delay: 0,
    });
  });

  it('refuses an unknown stage and an invalid policy with the reasons', async () => {
    const { useCase } = setup();
    await expect(
      useCase.execute({ owner: 'acme', name: 'web', change: { stage: 'qa', fields: {} }, requester: as('admin') }),
    ).rejects.toThrow(NotFoundError);
    await expect(
      useCase.execute({
        owner: 'acme',
        name: 'web',
        change: { policy: { stages: [{ name: 'prod', approvals: 11 }] } },
        requester: as('admin'),
      }),
    ).rejects.toThrow(InvalidRequestError);
  });
});
