import { z } from 'zod';

/** Where the pipeline gets the source and where it lives. Read from context (`-c pipeline:repository=owner/repo ...`). */
export const pipelineConfigSchema = z.object({
  /** owner/repository of the source (GitHub, Bitbucket or GitLab through a CodeConnections connection). */
  repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be owner/repository'),
  branch: z.string().min(1).default('main'),
  /** ARN of the CodeConnections (CodeStar Connections) connection to the repository host. */
  connectionArn: z
    .string()
    .regex(
      /^arn:[a-z-]+:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection\/[A-Za-z0-9-]+$/,
      'must be a CodeConnections connection ARN',
    ),
  account: z
    .string()
    .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region like eu-west-1')
    .optional(),
});
export type PipelineConfig = z.output<typeof pipelineConfigSchema>;

export class PipelineConfigError extends Error {
  public readonly name = 'PipelineConfigError';
}

/** The pipeline config from context, or undefined when `pipeline:repository` is not set. Throws naming every bad field. */
export function pipelineConfigFromContext(context: (key: string) => unknown): PipelineConfig | undefined {
  if (context('pipeline:repository') === undefined) return undefined;
  const raw = Object.fromEntries(
    ['repository', 'branch', 'connectionArn', 'account', 'region']
      .map((k) => [k, context(`pipeline:${k}`)])
      .filter(([, v]) => v !== undefined),
  );
  const r = pipelineConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  throw new PipelineConfigError(
    `Invalid pipeline configuration:\n  - ${r.error.issues.map((i) => `pipeline:${i.path.join('.')} ${i.message}`).join('\n  - ')}`,
  );
}
