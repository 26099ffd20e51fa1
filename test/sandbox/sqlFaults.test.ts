/**
 * SQL faults by statement shape in the TDS stand-ins, seen through the real mssql/tedious client over TLS:
 * errors with their number/severity/state, a severity 20 error and a killed session ending the session, a
 * reset connection, stalls the test releases or the client cancels, slow answers on the simulated clock,
 * each before or after the statement acted.
 */
import * as assert from 'node:assert/strict';
import * as sql from 'mssql';
import * as S from '../../provider/sql/statements';
import { type LinkSandbox, startLinkSandbox } from '../../sandbox/link';
import { SQL_ERRORS } from '../../sandbox/sql/faults';
import { SimClock } from '../../sandbox/world/clock';

const DAG = 'DAG_Faults';
const SQL_AG = 'AG_Faults';
const MI_AG = 'MI_AG_Faults';
const DB = 'FaultsDb';

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('SQL faults by statement shape (TDS stand-in, real mssql client)', function () {
  this.timeout(60_000);
  let sb: LinkSandbox;
  let clock: SimClock;
  let pool: sql.ConnectionPool;
  const poolErrors: unknown[] = [];

  function config(extra: Partial<sql.config> = {}): sql.config {
    return {
      server: '127.0.0.1',
      port: sb.sqlServerTds.port,
      user: sb.logins.sqlServer.user,
      password: sb.logins.sqlServer.password,
      database: 'master',
      connectionTimeout: 10_000,
      requestTimeout: 10_000,
      pool: { min: 0, max: 2 },
      options: { encrypt: true, cryptoCredentialsDetails: { ca: sb.ca } },
      ...extra,
    };
  }

  /** A request with its own timeout (mssql's per-request override, not in @types/mssql). */
  const timed = (requestTimeout: number): sql.Request =>
    (pool.request as unknown as (o: { requestTimeout: number }) => sql.Request).call(pool, {
      requestTimeout,
    });
  const lsnQuery = () => pool.request().input('dag', DAG).input('db', DB).query(S.sqlServerLsns);
  const modes = () => sb.link.dagReplicaRows('sqlServer', DAG).map((r) => r.availabilityMode);
  const last = () => sb.sqlServer.executed.at(-1)!;
  const toSync = S.alterDagMode(DAG, SQL_AG, MI_AG, 'SYNCHRONOUS_COMMIT');
  const toAsync = S.alterDagMode(DAG, SQL_AG, MI_AG, 'ASYNCHRONOUS_COMMIT');

  before(async () => {
    clock = new SimClock({ speed: 0 });
    sb = await startLinkSandbox({ clock, link: { managedInstance: { name: MI_AG } } });
    sb.link.establishLink({ name: DAG, sqlServerAg: SQL_AG, miAg: MI_AG, databases: [DB] });
    pool = new sql.ConnectionPool(config());
    pool.on('error', (e) => poolErrors.push(e));
    await pool.connect();
  });
  after(async () => {
    await pool?.close().catch(() => undefined);
    await sb?.stop();
  });
  afterEach(async () => {
    sb.sqlServer.faults.clear();
    await pool.request().batch(toAsync);
  });

  it('answers a deadlock 1205 (severity 13) before acting; the session stays usable', async () => {
    const fault = sb.sqlServer.faults.inject({ kind: 'error', statement: 'sqlServerLsns' });
    await assert.rejects(lsnQuery(), (e: sql.RequestError) => {
      assert.equal(e.number, 1205);
      assert.equal(e.class, 13);
      assert.equal(e.state, 51);
      assert.equal(e.message, SQL_ERRORS.deadlock.message);
      return true;
    });
    assert.equal(last().ran, false);
    assert.deepEqual(last().error, { number: 1205, message: SQL_ERRORS.deadlock.message });
    assert.equal(fault.hits, 1);
    const ok = await lsnQuery();
    assert.equal(
      ok.recordset.length,
      2,
      'the fault hit once, the next read is answered (local and remote rows)',
    );
    assert.equal(sb.sqlServerTds.openConnections, 1, 'severity 13 keeps the session');
  });

  it('a severity 20 error ends the session; the pool reconnects for the next request', async () => {
    sb.sqlServer.faults.inject({
      kind: 'error',
      statement: 'dagReplicas',
      error: { number: 0, severity: 20 },
    });
    const opened = sb.sqlServerTds.openConnections;
    await assert.rejects(pool.request().input('dag', DAG).query(S.dagReplicas), (e: sql.RequestError) => {
      assert.equal(e.number ?? 0, 0);
      assert.equal(e.class, 20);
      assert.match(e.message, /severe error/);
      return true;
    });
    await until('the server to close the session', () => sb.sqlServerTds.openConnections < opened);
    assert.equal((await pool.request().input('dag', DAG).query(S.dagReplicas)).recordset.length, 2);
  });

  it('kills the session after the ALTER acted: 596 and 0 as SQL Server reports a killed session, the world changed', async () => {
    sb.sqlServer.faults.inject({ kind: 'kill', statement: 'alterDagMode', when: 'after' });
    await assert.rejects(
      pool.request().batch(toSync),
      (e: sql.RequestError & { precedingErrors?: sql.RequestError[] }) => {
        // mssql reports number 0 as undefined (`info.number || code`); the severity stays.
        const all = [...(e.precedingErrors ?? []), e].map((x) => [x.number ?? 0, x.class]);
        assert.deepEqual(all, [
          [596, 21],
          [0, 20],
        ]);
        assert.match(e.message, /severe error occurred/);
        return true;
      },
    );
    assert.deepEqual(modes(), ['SYNCHRONOUS_COMMIT', 'SYNCHRONOUS_COMMIT'], 'the statement acted');
    assert.equal(last().ran, true);
    assert.deepEqual(sb.sqlServer.applied().at(-1)?.sql, toSync);
  });

  it('kills the session before the ALTER acts: the world is unchanged', async () => {
    sb.sqlServer.faults.inject({ kind: 'kill', statement: 'alterDagMode' });
    await assert.rejects(pool.request().batch(toSync), (e: sql.RequestError) => Number(e.class) === 20);
    assert.deepEqual(modes(), ['ASYNCHRONOUS_COMMIT', 'ASYNCHRONOUS_COMMIT']);
    assert.equal(last().ran, false);
  });

  it('drops the connection without an answer (reset) before or after acting', async () => {
    sb.sqlServer.faults.inject({ kind: 'drop', statement: 'changes' });
    await assert.rejects(pool.request().batch(toSync), (e: sql.RequestError) => {
      assert.equal(e.class, undefined, 'no SQL error: the connection is gone');
      assert.equal(String(e.code), 'ECONNRESET');
      return true;
    });
    assert.deepEqual(modes(), ['ASYNCHRONOUS_COMMIT', 'ASYNCHRONOUS_COMMIT'], 'before: not acted');

    sb.sqlServer.faults.inject({
      kind: 'drop',
      statement: /AVAILABILITY_MODE = SYNCHRONOUS_COMMIT/,
      when: 'after',
    });
    await assert.rejects(
      pool.request().batch(toSync),
      (e: sql.RequestError) => String(e.code) === 'ECONNRESET',
    );
    assert.deepEqual(modes(), ['SYNCHRONOUS_COMMIT', 'SYNCHRONOUS_COMMIT'], 'after: acted, answer lost');
    assert.equal(last().fault?.kind, 'drop');
  });

  it('stalls a read until the test releases it', async () => {
    const fault = sb.sqlServer.faults.inject({ kind: 'stall', statement: 'sqlServerLsns' });
    const pending = lsnQuery();
    await until('the read to be held', () => fault.held === 1);
    assert.equal(last().ran, false);
    fault.release();
    assert.equal((await pending).recordset.length, 2); // the local and the remote row
    assert.equal(last().ran, true);
  });

  it('a stalled read is cancelled by the client timeout (ATTENTION); nothing acted, the session is usable', async () => {
    sb.sqlServer.faults.inject({ kind: 'stall', statement: 'alterDagMode' });
    const started = Date.now();
    const request = timed(300);
    await assert.rejects(request.batch(toSync), (e: sql.RequestError) => {
      assert.equal(e.code, 'ETIMEOUT');
      return true;
    });
    assert.ok(Date.now() - started < 5_000, 'the cancel was acknowledged at once (no cancelTimeout wait)');
    assert.equal(last().fault?.cancelled, true);
    assert.equal(last().ran, false);
    assert.deepEqual(modes(), ['ASYNCHRONOUS_COMMIT', 'ASYNCHRONOUS_COMMIT']);
    assert.equal((await lsnQuery()).recordset.length, 2, 'the session is still usable');
  });

  it('a stall after acting loses the answer of a statement that changed the world', async () => {
    sb.sqlServer.faults.inject({ kind: 'stall', statement: 'alterDagMode', when: 'after' });
    const started = Date.now();
    await assert.rejects(timed(300).batch(toSync), (e: sql.RequestError) => e.code === 'ETIMEOUT');
    assert.ok(Date.now() - started < 5_000, 'the cancel was acknowledged at once');
    assert.deepEqual(modes(), ['SYNCHRONOUS_COMMIT', 'SYNCHRONOUS_COMMIT']);
    assert.equal(last().ran, true);
  });

  it('a slow answer on the simulated clock waits for simulated time, not wall time', async () => {
    const fault = sb.sqlServer.faults.inject({
      kind: 'slow',
      statement: 'sqlServerLsns',
      simulatedMs: 60_000,
    });
    let answered = false;
    const pending = lsnQuery().then((r) => {
      answered = true;
      return r;
    });
    await until('the read to be held', () => fault.held === 1);
    clock.advance(30_000);
    assert.equal(answered, false);
    clock.advance(30_000);
    assert.equal((await pending).recordset.length, 2); // the local and the remote row
  });

  it('skip and times choose which matching statements are hit', async () => {
    sb.sqlServer.faults.inject({ kind: 'error', statement: 'sqlServerLsns', skip: 1, times: 2 });
    await lsnQuery();
    await assert.rejects(lsnQuery(), (e: sql.RequestError) => e.number === 1205);
    await assert.rejects(lsnQuery(), (e: sql.RequestError) => e.number === 1205);
    await lsnQuery();
    const hit = sb.sqlServer.executed.slice(-4).map((e) => e.fault !== undefined);
    assert.deepEqual(hit, [false, true, true, false]);
    assert.equal(poolErrors.length, 0, 'no unhandled pool errors');
  });

  it('params choose one link: a fault on a read hits only the statements whose parameters match', async () => {
    const other = () => pool.request().input('dag', 'DAG_Other').input('db', DB).query(S.sqlServerLsns);
    const fault = sb.sqlServer.faults.inject({
      kind: 'error',
      statement: 'sqlServerLsns',
      params: { dag: DAG.toLowerCase() },
    });
    await other();
    assert.equal(fault.hits, 0, "another link's reading is not hit");
    await assert.rejects(lsnQuery(), (e: sql.RequestError) => e.number === 1205);
    assert.equal(fault.hits, 1);
    assert.equal(poolErrors.length, 0, 'no unhandled pool errors');
  });
});
