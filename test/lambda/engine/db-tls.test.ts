import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CA_BUNDLE_ENV, connect, tlsOptions } from '../../../lambda/engine/db';
import { DatabaseUnreachableError } from '../../../lambda/engine/errors';
import { testServer } from '../../support/pg';

/*
 * TLS: verify-full by default on AWS (certificate chain to the CA bundle + host name), `require`
 * (encrypted, unverified) only when asked, no TLS for local and embedded databases.
 */

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('database TLS', () => {
  afterEach(() => {
    delete process.env[CA_BUNDLE_ENV];
  });

  test('GIVEN verify-full and no bundle configured WHEN options are built THEN the certificate is verified against the shipped Amazon RDS CA bundle', () => {
    const o = tlsOptions({ ssl: 'verify-full' })!;
    expect(o.rejectUnauthorized).toBe(true);
    const ca = o.ca as string[];
    expect(ca.length).toBeGreaterThan(10);
    expect(ca.every((c) => c.startsWith('-----BEGIN CERTIFICATE-----'))).toBe(true);
  });

  test('GIVEN a CA bundle file (endpoint, else SWITCHYARD_DB_CA_BUNDLE) WHEN verify-full THEN that file is the trust anchor', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-ca-'));
    const a = join(dir, 'a.pem');
    const b = join(dir, 'b.pem');
    writeFileSync(a, PEM);
    writeFileSync(b, `${PEM}${PEM}`);
    process.env[CA_BUNDLE_ENV] = b;
    expect(tlsOptions({ ssl: 'verify-full' })).toEqual({ rejectUnauthorized: true, ca: `${PEM}${PEM}` });
    expect(tlsOptions({ ssl: 'verify-full', caBundlePath: a })).toEqual({ rejectUnauthorized: true, ca: PEM });
  });

  test('GIVEN require, disable or nothing WHEN options are built THEN require encrypts without verifying, the others use no TLS', () => {
    expect(tlsOptions({ ssl: 'require' })).toEqual({ rejectUnauthorized: false });
    expect(tlsOptions({ ssl: 'disable' })).toBeUndefined();
    expect(tlsOptions({})).toBeUndefined();
  });

  test('fails when the configured CA bundle cannot be read or holds no certificate: DatabaseUnreachableError names the file and what to do', () => {
    expect(() => tlsOptions({ ssl: 'verify-full', caBundlePath: '/nonexistent/ca.pem' })).toThrow(
      DatabaseUnreachableError,
    );
    const dir = mkdtempSync(join(tmpdir(), 'sy-ca-'));
    writeFileSync(join(dir, 'empty.pem'), 'not a certificate');
    expect(() => tlsOptions({ ssl: 'verify-full', caBundlePath: join(dir, 'empty.pem') })).toThrow(
      /no PEM certificate/,
    );
  });

  test('GIVEN the embedded server without TLS WHEN connecting with verify-full THEN it refuses (never falls back to plain text); without TLS it connects', async () => {
    const err = await connect({ ...testServer(), ssl: 'verify-full' }).catch((e) => e);
    expect(err).toBeInstanceOf(DatabaseUnreachableError);
    expect(err.message).toMatch(/SSL|TLS/i);
    const c = await connect(testServer());
    expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await c.end();
  });
});
