import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { Image, PolicyRepository, Project, ProjectRepository, PromotionRepository } from '@dockyard/db';
import type { PipelineConfig } from '../pipeline-file';
import {
  DEFAULT_POLICY,
  ProjectRules,
  RulesInForce,
  parsePolicy,
  registryNamespace,
  rulesInForce,
} from './project-policy';

export interface PolicyInForce {
  /** 1 is the default policy; every admin change adds one. */
  version: number;
  rules: ProjectRules;
  createdBy: string;
  createdAt: Date | null;
}

/** A project's policy as Dockyard holds it, and the rules in force for a pipeline file or an image. */
@Injectable()
export class ProjectPolicies {
  /** An image's pipeline file never changes: read once. */
  private readonly files = new Map<string, Pick<PipelineConfig, 'image' | 'stages'>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly policies: PolicyRepository,
    private readonly promotions: PromotionRepository,
    private readonly projects: ProjectRepository,
  ) {}

  /** Make sure the project has a row for each stage its policy names (a new project shows them empty). */
  async ensureStages(projectId: string): Promise<PolicyInForce> {
    const policy = await this.current(projectId);
    await this.projects.syncStages(
      projectId,
      policy.rules.stages.map((s) => s.name),
    );
    return policy;
  }

  namespaceOf(project: Pick<Project, 'owner' | 'name'>): string {
    return registryNamespace(project, this.config.registry.namespace);
  }

  async current(projectId: string): Promise<PolicyInForce> {
    const row = await this.policies.current(projectId);
    if (!row) return { version: 1, rules: DEFAULT_POLICY, createdBy: 'default', createdAt: null };
    return { version: row.version, rules: parsePolicy(row.policy), createdBy: row.createdBy, createdAt: row.createdAt };
  }

  /** The rules a build's pipeline file would run under (its problems fail the build). */
  async forFile(
    project: Project,
    file: Pick<PipelineConfig, 'image' | 'stages'>,
  ): Promise<RulesInForce & { version: number }> {
    const policy = await this.current(project.id);
    return { version: policy.version, ...rulesInForce(policy.rules, file, this.namespaceOf(project)) };
  }

  /** The rules in force now for an image: the current policy with its build's file's additions. */
  async forImage(project: Project, image: Image): Promise<RulesInForce & { version: number }> {
    return this.forFile(project, await this.fileOf(image));
  }

  private async fileOf(image: Image): Promise<Pick<PipelineConfig, 'image' | 'stages'>> {
    const cached = this.files.get(image.id);
    if (cached) return cached;
    const built = await this.promotions.pipelineOfImage(image.id);
    const config = built?.config as PipelineConfig | null | undefined;
    const file = { image: config?.image ?? image.repository, stages: config?.stages ?? [] };
    if (built?.final) {
      if (this.files.size >= 1000) this.files.delete(this.files.keys().next().value!);
      this.files.set(image.id, file);
    }
    return file;
  }
}
