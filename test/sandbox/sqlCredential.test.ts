/**
 * Entra ID logins to the managed instance's SQL endpoint share the provider process's one credential (issue 9:
 * one token request per credential at a time however many resources run). In-process, through the real
 * mssql/tedious client and the real DefaultAzureCredential against the sandbox's identity endpoint.
 */
import * as assert from 'node:assert/strict';
import { SqlSession } from '../../provider/sql/client';
import * as S from '../../provider/sql/statements';
import { type Sandbox, startSandbox } from '../../sandbox';
import type { SqlConnection } from '../../provider/core/link/inputs';

describe('SQL Entra ID logins share one credential (sandbox, real mssql client)', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    sb = await startSandbox({ speed: 100 });
    // DefaultAzureCredential reads its source from the environment, as in a provider process.
    for (const [name, value] of Object.entries(sb.arm.server.credentialEnv())) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  });
  after(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await sb?.stop();
  });

  it('eight sessions opened at once make one token request', async () => {
    const entra = {
      server: '127.0.0.1',
      port: sb.miTds.port,
      authentication: 'entra',
      encrypt: true,
      trustServerCertificate: false,
      caCertificate: sb.tdsCa,
      connectTimeoutInMs: 15_000,
    } as SqlConnection;
    const before = sb.arm.identity.requestCount;
    const sessions = await Promise.all(
      Array.from({ length: 8 }, (_, k) => SqlSession.open(entra, `managed instance #${k}`)),
    );
    try {
      for (const s of sessions) await s.query(S.utcNow, {}, 'reading the clock');
      assert.equal(sb.arm.identity.requestCount - before, 1, 'one token request for all the sessions');
      const users = new Set(sb.sqlEndpoints.managedInstance.executed.slice(-8).map((e) => e.user));
      assert.deepEqual([...users], ['sandbox-managed-identity'], 'every session ran as the token identity');
    } finally {
      await Promise.all(sessions.map((s) => s.close()));
    }
  });
});
