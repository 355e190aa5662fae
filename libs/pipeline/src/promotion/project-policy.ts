import { z } from 'zod';
import { InvalidRequestError } from '../errors';
import {
  PIPELINE_FILE,
  type PipelineConfig,
  freezeWindowSchema,
  nameSchema,
  repositoryName,
  testSchema,
} from '../pipeline-file';

const signoffSchema = z.strictObject({
  required: z.boolean().default(true),
  /** Who may sign off: anyone with one of these roles, or one of these logins (either list may be empty). */
  roles: z.array(z.enum(['developer', 'approver', 'admin'])).default([]),
  users: z.array(z.string().min(1)).default([]),
});

const stageRulesSchema = z.strictObject({
  name: nameSchema,
  /** Takes what the stage before it accepted (the first stage: a passed build's image) without a request. */
  auto: z.boolean().default(false),
  approvals: z.number().int().min(0).max(10).default(0),
  /** Only these logins may approve (none listed: any approver or admin). */
  approvers: z.array(z.string().min(1)).optional(),
  /** Nobody who requested, pushed or authored anything in the promoted range may approve. Default: last stage only. */
  separationOfDuties: z.boolean().optional(),
  freeze: z.array(freezeWindowSchema).default([]),
  /** Suites run in containers from the digest before it may enter. */
  test: z.array(testSchema).default([]),
  /** A person's sign-off before entry (checked by the sign-off gate); null: none needed. */
  signoff: signoffSchema.nullable().default(null),
  /** Where the stage's tag lives when not in the image's repository (an admin's choice: any repository). */
  repository: repositoryName.optional(),
});

/** A project's gates as Dockyard holds them (admins change them; each change is a new version). */
export const projectPolicySchema = z.strictObject({
  stages: z
    .array(stageRulesSchema)
    .min(1)
    .refine((stages) => new Set(stages.map((s) => s.name)).size === stages.length, 'stage names must be unique'),
  /** Repositories outside the project's namespace that its pipeline file may name for a stage. */
  repositories: z.array(repositoryName).default([]),
});

export type StageRules = Omit<z.output<typeof stageRulesSchema>, 'separationOfDuties'> & {
  separationOfDuties: boolean;
};
export interface ProjectRules {
  stages: StageRules[];
  repositories: string[];
}
export type ProjectPolicyInput = z.input<typeof projectPolicySchema>;

/** A 400 with every problem named. */
export class InvalidPolicyError extends InvalidRequestError {
  constructor(readonly problems: string[]) {
    super(`invalid policy: ${problems.join('; ')}`);
  }
}

/** Validate an admin's policy into rules (separation of duties defaults to on for the last stage). */
export function parsePolicy(input: unknown): ProjectRules {
  const parsed = projectPolicySchema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidPolicyError(
      parsed.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`),
    );
  }
  const { stages, repositories } = parsed.data;
  return {
    repositories,
    stages: stages.map((s, i) => ({ ...s, separationOfDuties: s.separationOfDuties ?? i === stages.length - 1 })),
  };
}

/** Every project starts here: dev takes passed builds, test by request, prod with 1 approval and separation of duties. */
export const DEFAULT_POLICY: ProjectRules = parsePolicy({
  stages: [{ name: 'dev', auto: true }, { name: 'test' }, { name: 'prod', approvals: 1, separationOfDuties: true }],
});

/** The registry namespace a project's images live in: `<prefix>/<owner>/<name>`, lower-cased. */
export function registryNamespace(project: { owner: string; name: string }, prefix?: string): string {
  const part = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/[._-]{2,}/g, (run) => run[0])
      .replace(/^[._-]+|[._-]+$/g, '') || 'x';
  return [prefix, part(project.owner), part(project.name)].filter(Boolean).join('/');
}

export function insideNamespace(repository: string, namespace: string): boolean {
  return repository === namespace || repository.startsWith(`${namespace}/`);
}

export interface RulesInForce {
  rules: ProjectRules;
  /** What the file tried and may not do: a build fails with these; later evaluations ignore those parts. */
  problems: string[];
  /** Where the file asked for less than the project's policy, which then applies. */
  notes: string[];
}

/**
 * The rules in force for an image: the project's policy, with what its pipeline file ADDS. The file may
 * never weaken, add, rename or reorder anything:
 * - stages: the project's names and order; the file may name some of them, in the same order.
 * - approvals = max(project, file); separationOfDuties = project || file; freeze = project ∪ file;
 *   test = the project's suites, then the file's (a file suite may not reuse a project suite's name).
 * - approvers: the project's list, narrowed to those the file also names (the file cannot widen it);
 *   with no project list, the file's list restricts who may approve.
 * - auto: the project's; the file may turn it off (keep a stage manual), never on.
 * - signoff: the project's only.
 * - image and a stage's `repository:` stay inside the project's registry namespace, or in the
 *   repositories the project's policy allows; a repository set by an admin in the policy wins.
 */
export function rulesInForce(
  project: ProjectRules,
  file: Pick<PipelineConfig, 'image' | 'stages'> | null,
  namespace: string,
): RulesInForce {
  const problems: string[] = [];
  const notes: string[] = [];
  const order = project.stages.map((s) => s.name).join(' → ');
  const allowed = (repo: string) => insideNamespace(repo, namespace) || project.repositories.includes(repo);
  if (file && !insideNamespace(file.image, namespace)) {
    problems.push(`image: "${file.image}" is outside this project's registry namespace "${namespace}"`);
  }
  let last = -1;
  for (const f of file?.stages ?? []) {
    const at = project.stages.findIndex((s) => s.name === f.name);
    if (at < 0)
      problems.push(`stages: "${f.name}" is not one of this project's stages (${order}); stages are set in Dockyard`);
    else if (at < last) problems.push(`stages: "${f.name}" is out of order; this project's stages go ${order}`);
    else last = at;
  }
  const stages = project.stages.map((p): StageRules => {
    const f = file?.stages.find((s) => s.name === p.name);
    if (!f) return p;
    const where = `stages.${p.name}`;
    let auto = p.auto;
    if (f.auto === true && !p.auto)
      problems.push(
        `${where}.auto: only an admin can make "${p.name}" automatic, in Dockyard's policy for this project`,
      );
    if (f.auto === false) auto = false;
    if (f.approvals !== undefined && f.approvals < p.approvals)
      notes.push(
        `${where}.approvals: ${f.approvals} in ${PIPELINE_FILE} is below the project's ${p.approvals}, which applies`,
      );
    if (f.separationOfDuties === false && p.separationOfDuties)
      notes.push(`${where}.separationOfDuties: the project's policy keeps it on`);
    let approvers = p.approvers?.length ? p.approvers : f.approvers;
    if (p.approvers?.length && f.approvers?.length) {
      approvers = p.approvers.filter((a) => f.approvers!.includes(a));
      if (!approvers.length) {
        problems.push(`${where}.approvers: none of ${f.approvers.join(', ')} is among the project's approvers`);
        approvers = p.approvers;
      }
    }
    const taken = new Set(p.test.map((t) => t.name));
    const added = (f.test ?? []).filter((t) => {
      if (!taken.has(t.name)) return true;
      problems.push(`${where}.test: "${t.name}" is a suite of the project's policy and cannot be redefined`);
      return false;
    });
    let repository = p.repository;
    if (f.repository && f.repository !== p.repository) {
      if (p.repository) problems.push(`${where}.repository: the project's policy keeps this stage in ${p.repository}`);
      else if (!allowed(f.repository))
        problems.push(
          `${where}.repository: "${f.repository}" is outside this project's registry namespace "${namespace}" and not allowed by its policy`,
        );
      else repository = f.repository;
    }
    return {
      ...p,
      auto,
      approvals: Math.max(p.approvals, f.approvals ?? 0),
      approvers,
      separationOfDuties: p.separationOfDuties || !!f.separationOfDuties,
      freeze: [...p.freeze, ...(f.freeze ?? [])],
      test: [...p.test, ...added],
      repository,
    };
  });
  return { rules: { stages, repositories: project.repositories }, problems, notes };
}
