import { z } from 'zod';
import { parseDuration } from '@dockyard/config';
import { PIPELINE_FILE_MAX_BYTES, parseYamlOffThread, type ParsedYaml } from './yaml-worker';

export const PIPELINE_FILE = '.dockyard.yml';

const duration = z
  .union([z.string(), z.number()])
  .describe('e.g. 30s, 10m, 1h')
  .transform((value, ctx) => {
    try {
      return parseDuration(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

export const nameSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _');

export const testSchema = z.strictObject({
  name: nameSchema,
  run: z.string().min(1),
  timeout: duration.optional(),
  network: z.boolean().default(false),
  /** Opt-outs of the test container's confinement; a project's settings may forbid them. */
  user: z
    .string()
    .regex(/^[a-z0-9_][a-z0-9_.-]{0,31}(:[a-z0-9_][a-z0-9_.-]{0,31})?$/i, 'a user[:group], by name or number')
    .optional()
    .describe('run as this user instead of nobody (65534), e.g. "0" for root'),
  readOnly: z.boolean().default(true).describe('false: a writable root filesystem'),
});

export const repositoryName = z
  .string()
  .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, 'a registry repository name');

/** A suite run on a target after a deploy, against the running service (SERVICE_URL). */
const verifySchema = z.strictObject({
  name: nameSchema,
  run: z.string().min(1),
  /** A test image to run it in (a full reference); default: the deployed digest itself. */
  image: z.string().min(1).optional(),
  timeout: duration.optional(),
});

/** How the image runs as a service in an environment. */
const serviceSchema = z.strictObject({
  port: z.number().int().min(1).max(65535),
  /** Run instead of the image's own command (through /bin/sh -c). */
  command: z.string().min(1).optional(),
  /** Names of variables each environment must set before the service may be deployed there. */
  env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name')).optional(),
  health: z
    .strictObject({
      /** GET this path inside the container (wget or curl in the image); default "/". */
      http: z.string().startsWith('/').optional(),
      /** Or run this command in the container (through /bin/sh -c); exit 0 is healthy. */
      command: z.string().min(1).optional(),
      interval: duration.optional(),
      timeout: duration.optional(),
      startPeriod: duration.optional(),
      retries: z.number().int().min(1).max(100).optional(),
    })
    .refine((h) => !(h.http && h.command), 'health: give http or command, not both')
    .optional(),
  /** How long a stopped container gets between SIGTERM and SIGKILL. */
  stopGracePeriod: duration.optional(),
  /** How long the old containers keep serving requests already sent to them after the switch. */
  drain: duration.optional(),
});

export const freezeWindowSchema = z.union([
  z.strictObject({ cron: z.string(), duration }),
  z.strictObject({ from: z.string(), to: z.string() }),
]);

/**
 * A stage as the file may name it: the file only ADDS checks to the project's policy held by Dockyard
 * (see promotion/project-policy.ts for the merge rule); it never adds, renames or reorders stages.
 */
const stageSchema = z.strictObject({
  name: nameSchema,
  /** Where the stage's tag lives, when not in the image's own repository (blobs are mounted, not copied). */
  repository: repositoryName.optional(),
  /** Only to keep the first stage manual; `true` where the project's policy says otherwise is refused. */
  auto: z.boolean().optional(),
  approvals: z.number().int().min(0).max(10).optional(),
  approvers: z.array(z.string()).optional(),
  test: z.array(testSchema).optional(),
  /** Suites run after a deploy to the stage's environment; a failure rolls the environment back. */
  verify: z.array(verifySchema).optional(),
  separationOfDuties: z.boolean().optional(),
  freeze: z.array(freezeWindowSchema).optional(),
});

export const pipelineSchema = z.strictObject({
  image: repositoryName.optional(),
  build: z
    .strictObject({
      dockerfile: z.string().default('Dockerfile'),
      context: z.string().default('.'),
      /** A multi-stage Dockerfile's stage to build. */
      target: z.string().min(1).optional(),
      args: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
    })
    .default({ dockerfile: 'Dockerfile', context: '.', args: {} }),
  test: z.array(testSchema).default([]),
  service: serviceSchema.optional(),
  stages: z
    .array(stageSchema)
    .min(1)
    .refine((stages) => new Set(stages.map((s) => s.name)).size === stages.length, 'stage names must be unique')
    .optional(),
});

export type PipelineFile = z.infer<typeof pipelineSchema>;
export type PipelineTest = z.infer<typeof testSchema>;
export type PipelineStage = z.infer<typeof stageSchema>;
export type PipelineService = z.infer<typeof serviceSchema>;
export type PipelineVerify = z.infer<typeof verifySchema>;

export interface PipelineConfig {
  image: string;
  build: { dockerfile: string; context: string; target?: string; args: Record<string, string> };
  test: PipelineTest[];
  /** What the file adds to the project's stages (none when it names none). */
  stages: PipelineStage[];
  /** How the image runs in an environment; null: defaults (port 8080, health GET /). */
  service?: PipelineService | null;
  /** False when the repository has no .dockyard.yml and the defaults were used. */
  fromFile: boolean;
}

export class PipelineFileError extends Error {
  constructor(readonly problems: string[]) {
    super(`${PIPELINE_FILE} is invalid: ${problems.join('; ')}`);
  }
}

/** The JSON Schema of .dockyard.yml, for editors and for the API to publish. */
export function pipelineJsonSchema(): object {
  return z.toJSONSchema(pipelineSchema, { io: 'input', unrepresentable: 'any' });
}

/**
 * Parse .dockyard.yml (or null for "no file") into the pipeline in force. Every problem is named
 * with the line it stands on. The file is capped in size and nesting and parsed in a worker thread
 * with a deadline, so a hostile file fails its own build and nothing else.
 */
export async function parsePipelineFile(text: string | null, defaultRepository: string): Promise<PipelineConfig> {
  const defaultImage = defaultRepository.toLowerCase().replace(/[^a-z0-9._/-]+/g, '-');
  if (text === null) {
    return {
      image: defaultImage,
      build: { dockerfile: 'Dockerfile', context: '.', args: {} },
      test: [],
      stages: [],
      fromFile: false,
    };
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > PIPELINE_FILE_MAX_BYTES) {
    throw new PipelineFileError([`the file is ${bytes} bytes; the most Dockyard reads is ${PIPELINE_FILE_MAX_BYTES}`]);
  }
  let yaml: ParsedYaml;
  try {
    yaml = await parseYamlOffThread(text);
  } catch (err) {
    throw new PipelineFileError([(err as Error).message]);
  }
  if (yaml.errors.length) throw new PipelineFileError(yaml.errors.map((e) => `line ${e.line}: ${e.message}`));
  const parsed = pipelineSchema.safeParse(yaml.data ?? {});
  if (!parsed.success) {
    throw new PipelineFileError(
      parsed.error.issues.map((issue) => {
        const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
        return `line ${lineOf(yaml.lines, issue.path.map(String))}: ${where}${issue.message}`;
      }),
    );
  }
  const file = parsed.data;
  return {
    image: file.image ?? defaultImage,
    build: file.build,
    test: file.test,
    stages: file.stages ?? [],
    service: file.service ?? null,
    fromFile: true,
  };
}

/** The line of the deepest node on a path that exists, to say which line a problem is on. */
function lineOf(lines: ParsedYaml['lines'], path: string[]): number {
  for (let n = path.length; n >= 0; n--) {
    const line = lines[path.slice(0, n).join('.')];
    if (line !== undefined) return line;
  }
  return 1;
}
