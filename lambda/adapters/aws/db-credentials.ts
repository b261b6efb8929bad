import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DbEndpoint } from '../../engine/db';
import { call } from './errors';
import { ERRORS, SwitchyardError } from '../../core/errors';
import { AWS_CLIENT_CONFIG } from './retry';

/** The database secret is not the standard RDS JSON; names the missing keys, never values. */
export class InvalidDatabaseSecretError extends SwitchyardError {
  readonly name = ERRORS.InvalidDatabaseSecretError;
}

/**
 * Database credentials from a Secrets Manager secret in the standard RDS format
 * ({ host, port, username, password, dbname }). Fetched at run time, never passed
 * through state, environment variables or logs.
 */
export async function databaseEndpointFromSecret(
  secretArn: string,
  sm: SecretsManagerClient = new SecretsManagerClient({ ...AWS_CLIENT_CONFIG }),
  overrides: { database?: string; ssl?: DbEndpoint['ssl'] } = {},
): Promise<DbEndpoint> {
  const r = await call('secretsmanager:GetSecretValue', secretArn, () =>
    sm.send(new GetSecretValueCommand({ SecretId: secretArn })),
  );
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(r.SecretString ?? '') as Record<string, unknown>;
  } catch {
    throw new InvalidDatabaseSecretError(
      `secret ${secretArn} is not JSON: expected the RDS format { host, port, username, password, dbname }`,
    );
  }
  const missing = ['host', 'username', 'password'].filter((k) => typeof parsed[k] !== 'string' || parsed[k] === '');
  const database = overrides.database ?? (parsed.dbname as string | undefined);
  if (!database) missing.push('dbname');
  if (missing.length)
    throw new InvalidDatabaseSecretError(
      `secret ${secretArn} lacks ${missing.join(', ')} (RDS secret format expected)`,
    );
  return {
    host: parsed.host as string,
    port: Number(parsed.port ?? 5432),
    database: database!,
    user: parsed.username as string,
    password: parsed.password as string,
    // Verified against the RDS CA bundle shipped with the functions (lambda/engine/db.ts) unless the stage says `require`.
    ssl: overrides.ssl ?? 'verify-full',
  };
}
