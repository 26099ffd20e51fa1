/**
 * The TDS stand-in driven by the real mssql/tedious client over 127.0.0.1.
 */
import * as assert from 'node:assert/strict';
import * as sql from 'mssql';
import { makeSelfSignedCert } from '../../sandbox/tds/cert';
import { startTdsServer } from '../../sandbox/tds/server';
import {
  type LoginInfo,
  type QueryContext,
  type QueryResult,
  SqlError,
  type TdsServer,
} from '../../sandbox/tds/types';

const PASSWORD = 'Str0ng;P@ss=wörd';
const LSN = '34000000021600001';
const WHEN = new Date(Date.UTC(2024, 4, 17, 13, 45, 30, 123));

/** Waits for a condition with a deadline (no sleeps as synchronisation). */
async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A promise with its resolver, to hold a handler until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

let slowGate = gate();

/** The handler every test server uses: a few fixed statement shapes, anything else is a syntax error. */
async function handler(ctx: QueryContext): Promise<QueryResult> {
  const text = ctx.sql.trim().replace(/\s+/g, ' ');
  if (text === 'SELECT typed') {
    return {
      resultSets: [
        {
          columns: [
            { name: 'i', type: 'int' },
            { name: 'b', type: 'bigint' },
            { name: 'f', type: 'bit' },
            { name: 'n', type: 'nvarchar', length: 50 },
            { name: 'lsn_text', type: 'varchar', length: 25 },
            { name: 'lsn', type: 'numeric', precision: 25, scale: 0 },
            { name: 'amount', type: 'numeric', precision: 10, scale: 2 },
            { name: 'at', type: 'datetime2', scale: 7 },
            { name: 'id', type: 'uniqueidentifier' },
            { name: 'notnull_i', type: 'int', nullable: false },
          ],
          rows: [
            [
              42,
              9007199254740993n,
              true,
              'Grüße, 日本 ✓',
              LSN,
              LSN,
              '-1234.56',
              WHEN,
              '6F9619FF-8B86-D011-B42D-00C04FC964FF',
              7,
            ],
            [null, null, null, null, null, null, null, null, null, -1],
          ],
        },
      ],
    };
  }
  if (text.startsWith('SELECT name FROM sys.databases WHERE name = @db')) {
    return {
      resultSets: [{ columns: [{ name: 'name', type: 'nvarchar', length: 128 }], rows: [[ctx.params.db]] }],
    };
  }
  if (text === 'SELECT multi') {
    return {
      resultSets: [
        { columns: [{ name: 'a', type: 'int' }], rows: [[1]] },
        { columns: [{ name: 'b', type: 'nvarchar' }], rows: [['x'], ['y']] },
      ],
    };
  }
  if (text === 'SELECT big') {
    const rows = Array.from({ length: 3000 }, (_, i) => [
      i,
      `row ${i} ${'·'.repeat(100)}`,
      'm'.repeat(i % 50),
    ]);
    return {
      resultSets: [
        {
          columns: [
            { name: 'i', type: 'int', nullable: false },
            { name: 's', type: 'nvarchar', length: 200 },
            { name: 'max', type: 'nvarchar', length: -1 },
          ],
          rows,
        },
      ],
    };
  }
  if (text === 'SELECT echo_len') {
    return { resultSets: [] };
  }
  if (text.startsWith('ALTER AVAILABILITY GROUP')) return { resultSets: [], rowsAffected: 0 };
  if (text.startsWith('UPDATE')) return { resultSets: [], rowsAffected: 2 };
  if (text === 'SELECT slow') {
    await slowGate.promise;
    return { resultSets: [{ columns: [{ name: 'a', type: 'int' }], rows: [[1]] }] };
  }
  if (text === 'SELECT bad_value') {
    return { resultSets: [{ columns: [{ name: 'i', type: 'int' }], rows: [['not a number']] }] };
  }
  if (text === 'EXEC boom') throw new SqlError(2812, "Could not find stored procedure 'boom'.", 62, 16);
  if (text === 'SELECT crash') throw new Error('handler bug');
  throw new SqlError(102, `Incorrect syntax near '${text.slice(0, 20)}'.`, 1, 15);
}

const logins: LoginInfo[] = [];
function authenticate(login: LoginInfo): boolean {
  logins.push(login);
  if (login.authKind === 'token') return login.accessToken !== 'rejected-token';
  return login.user === 'sa' && login.password === PASSWORD;
}

function config(port: number, extra: Partial<sql.config> = {}): sql.config {
  return {
    server: '127.0.0.1',
    port,
    user: 'sa',
    password: PASSWORD,
    database: 'Sales',
    connectionTimeout: 10000,
    requestTimeout: 10000,
    pool: { min: 0, max: 2 },
    options: { encrypt: false, trustServerCertificate: false },
    ...extra,
  };
}

async function withPool<T>(cfg: sql.config, fn: (pool: sql.ConnectionPool) => Promise<T>): Promise<T> {
  const pool = new sql.ConnectionPool(cfg);
  await pool.connect();
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

function lastLogin(): LoginInfo {
  const login = logins[logins.length - 1];
  assert.ok(login, 'a login reached authenticate');
  return login;
}

describe('TDS stand-in (real mssql/tedious client)', () => {
  let plain: TdsServer;
  let secure: TdsServer;
  let cert: { key: string; cert: string };

  before(async () => {
    cert = await makeSelfSignedCert(['sqlmi.local']);
    plain = await startTdsServer({
      serverName: 'SQLSTANDIN',
      productVersion: '15.0.4365.2',
      authenticate,
      handler,
    });
    secure = await startTdsServer({
      serverName: 'sqlmi-standin',
      productVersion: '16.0.4125.3',
      tls: cert,
      authenticate,
      handler,
    });
  });

  after(async () => {
    await plain?.close();
    await secure?.close();
  });

  describe('login', () => {
    it('accepts a SQL login without encryption and answers the pool validation itself', async () => {
      const result = await withPool(config(plain.port), (pool) => pool.request().query('SELECT 1'));
      assert.deepEqual(result.recordset[0], { '': 1 });
      const login = lastLogin();
      assert.equal(login.user, 'sa');
      assert.equal(login.password, PASSWORD);
      assert.equal(login.database, 'Sales');
      assert.equal(login.appName, 'node-mssql');
      assert.equal(login.authKind, 'sql');
      assert.equal(login.encrypted, false);
      // tedious's session setup batch is logged but answered without the handler.
      assert.ok(plain.queries.some((q) => q.kind === 'batch' && /^set /i.test(q.sql)));
    });

    it('refuses a wrong password with 18456 as SQL Server does', async () => {
      const numbers: number[] = [];
      const pool = new sql.ConnectionPool(
        config(plain.port, {
          password: 'wrong',
          beforeConnect: (conn) => {
            conn.on('errorMessage', (token: { number: number }) => numbers.push(token.number));
          },
        }),
      );
      await assert.rejects(pool.connect(), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ELOGIN');
        assert.match(err.message, /Login failed for user 'sa'\./);
        return true;
      });
      assert.deepEqual(numbers, [18456]);
      await pool.close();
      await waitFor('the refused connection to close', () => plain.openConnections === 0);
    });

    it('encrypts with encrypt: true and trustServerCertificate', async () => {
      await withPool(
        config(secure.port, { options: { encrypt: true, trustServerCertificate: true } }),
        (pool) => pool.request().query('SELECT 1'),
      );
      assert.equal(lastLogin().encrypted, true);
      assert.equal(lastLogin().strict, false);
    });

    it('encrypts with encrypt: true and the certificate trusted as CA', async () => {
      const cfg = config(secure.port, {
        options: {
          encrypt: true,
          trustServerCertificate: false,
          cryptoCredentialsDetails: { ca: [cert.cert] },
        },
      });
      const result = await withPool(cfg, (pool) => pool.request().batch('SELECT multi'));
      assert.equal(result.recordsets.length, 2);
      assert.equal(lastLogin().encrypted, true);
    });

    it('rejects an untrusted certificate', async () => {
      const pool = new sql.ConnectionPool(
        config(secure.port, { options: { encrypt: true, trustServerCertificate: false } }),
      );
      await assert.rejects(pool.connect(), /self-signed certificate|unable to verify/i);
      await pool.close();
    });

    it("speaks TDS 8 with encrypt: 'strict'", async () => {
      const cfg = config(secure.port, {
        options: { encrypt: 'strict' as unknown as boolean, cryptoCredentialsDetails: { ca: [cert.cert] } },
      });
      const result = await withPool(cfg, (pool) =>
        pool
          .request()
          .input('db', sql.NVarChar, 'Sales')
          .query('SELECT name FROM sys.databases WHERE name = @db'),
      );
      assert.equal(result.recordset[0].name, 'Sales');
      assert.equal(lastLogin().strict, true);
      assert.equal(lastLogin().encrypted, true);
    });

    it('requires encryption when a certificate is configured', async () => {
      const pool = new sql.ConnectionPool(config(secure.port, { options: { encrypt: false } }));
      await assert.rejects(pool.connect(), /Server requires encryption/);
      await pool.close();
    });

    it('gives an unencrypted session when encryption is offered but not required', async () => {
      const relaxed = await startTdsServer({
        serverName: 'relaxed',
        tls: cert,
        requireEncryption: false,
        authenticate,
        handler,
      });
      try {
        await withPool(config(relaxed.port), (pool) => pool.request().query('SELECT 1'));
        assert.equal(lastLogin().encrypted, false);
        await withPool(
          config(relaxed.port, { options: { encrypt: true, trustServerCertificate: true } }),
          (pool) => pool.request().query('SELECT 1'),
        );
        assert.equal(lastLogin().encrypted, true);
      } finally {
        await relaxed.close();
      }
    });

    it('accepts an access token (azure-active-directory-access-token) as authKind token', async () => {
      const token = [
        Buffer.from('{"alg":"none"}').toString('base64url'),
        Buffer.from(JSON.stringify({ upn: 'migrator@contoso.com' })).toString('base64url'),
        'sig',
      ].join('.');
      const cfg: sql.config = {
        ...config(secure.port, { options: { encrypt: true, trustServerCertificate: true } }),
        user: undefined,
        password: undefined,
        authentication: { type: 'azure-active-directory-access-token', options: { token } },
      };
      await withPool(cfg, (pool) => pool.request().query('SELECT 1'));
      const login = lastLogin();
      assert.equal(login.authKind, 'token');
      assert.equal(login.accessToken, token);
      assert.equal(login.user, 'migrator@contoso.com');
      assert.equal(login.password, undefined);
    });

    it('refuses a rejected token', async () => {
      const cfg: sql.config = {
        ...config(secure.port, { options: { encrypt: true, trustServerCertificate: true } }),
        user: undefined,
        password: undefined,
        authentication: { type: 'azure-active-directory-access-token', options: { token: 'rejected-token' } },
      };
      const pool = new sql.ConnectionPool(cfg);
      await assert.rejects(pool.connect(), /Login failed for user '<token-identified principal>'/);
      await pool.close();
    });

    it('runs the Entra ID workflow (FEDAUTHINFO → FEDAUTH_TOKEN) for a token credential', async () => {
      const scopes: string[] = [];
      const credential = {
        getToken: async (scope: string | string[]) => {
          scopes.push(String(scope));
          return { token: 'credential-token', expiresOnTimestamp: Date.now() + 3600_000 };
        },
      };
      const cfg: sql.config = {
        ...config(secure.port, { options: { encrypt: true, trustServerCertificate: true } }),
        user: undefined,
        password: undefined,
        authentication: { type: 'token-credential', options: { credential } },
      };
      await withPool(cfg, (pool) => pool.request().query('SELECT 1'));
      assert.ok(scopes.length > 0);
      for (const scope of scopes) assert.equal(scope, 'https://database.windows.net/.default');
      assert.equal(lastLogin().authKind, 'token');
      assert.equal(lastLogin().accessToken, 'credential-token');
    });
  });

  describe('queries', () => {
    let pool: sql.ConnectionPool;
    before(async () => {
      pool = new sql.ConnectionPool(
        config(secure.port, { options: { encrypt: true, trustServerCertificate: true } }),
      );
      await pool.connect();
    });
    after(async () => {
      await pool.close();
    });

    it('returns typed columns from a batch', async () => {
      const result = await pool.request().batch('SELECT typed');
      assert.equal(secure.queries[secure.queries.length - 1].kind, 'batch');
      assert.deepEqual(secure.queries[secure.queries.length - 1].params, {});
      const [first, second] = result.recordset;
      assert.equal(first.i, 42);
      assert.equal(first.b, '9007199254740993'); // tedious reads bigint as a string
      assert.equal(first.f, true);
      assert.equal(first.n, 'Grüße, 日本 ✓');
      assert.equal(first.lsn_text, LSN);
      assert.equal(BigInt(first.lsn_text), 34000000021600001n);
      // tedious turns numeric into a JS number: above 2^53 the low digits are lost, as against SQL Server.
      assert.equal(first.lsn, Number(LSN));
      assert.equal(String(first.lsn), '34000000021600000');
      assert.equal(first.amount, -1234.56);
      assert.equal((first.at as Date).getTime(), WHEN.getTime());
      assert.equal(first.id, '6F9619FF-8B86-D011-B42D-00C04FC964FF');
      assert.equal(first.notnull_i, 7);
      for (const column of ['i', 'b', 'f', 'n', 'lsn_text', 'lsn', 'amount', 'at', 'id']) {
        assert.equal(second[column], null, column);
      }
      assert.deepEqual(result.rowsAffected, [2]);
      const columns = result.recordset.columns;
      assert.equal(columns.lsn.precision, 25);
      assert.equal(columns.lsn.scale, 0);
      assert.equal(columns.n.length, 100); // mssql reports the wire length in bytes, as with SQL Server
    });

    it('passes typed parameters of a parameterised query (sp_executesql) to the handler', async () => {
      const long = 'é'.repeat(12000); // nvarchar(max): PLP, and the request spans several packets
      const result = await pool
        .request()
        .input('db', sql.NVarChar, 'Sales')
        .input('n', sql.Int, -7)
        .input('big', sql.BigInt, '9007199254740993')
        .input('flag', sql.Bit, true)
        .input('amount', sql.Decimal(10, 2), 1234.5)
        .input('lsn', sql.Numeric(25, 0), 123456789)
        .input('latin', sql.VarChar(20), 'abc')
        .input('nothing', sql.NVarChar, null)
        .input('long', sql.NVarChar(sql.MAX), long)
        .input('at', sql.DateTime2, WHEN)
        .query('SELECT name FROM sys.databases WHERE name = @db AND 1 = 1');
      assert.equal(result.recordset[0].name, 'Sales');
      const ctx = secure.queries[secure.queries.length - 1];
      assert.equal(ctx.kind, 'rpc');
      assert.equal(ctx.sql, 'SELECT name FROM sys.databases WHERE name = @db AND 1 = 1');
      assert.equal(ctx.login.user, 'sa');
      assert.deepEqual(
        { ...ctx.params, long: undefined },
        {
          db: 'Sales',
          n: -7,
          big: 9007199254740993n,
          flag: true,
          amount: '1234.50',
          lsn: '123456789',
          latin: 'abc',
          nothing: null,
          long: undefined,
          at: WHEN,
        },
      );
      assert.equal(ctx.params.long, long);
    });

    it('returns several result sets', async () => {
      const result = await pool.request().query('SELECT multi');
      const recordsets = result.recordsets as sql.IRecordSet<Record<string, unknown>>[];
      assert.equal(recordsets.length, 2);
      assert.deepEqual([...recordsets[0]], [{ a: 1 }]);
      assert.deepEqual([...recordsets[1]], [{ b: 'x' }, { b: 'y' }]);
      assert.deepEqual(result.rowsAffected, [1, 2]);
    });

    it('splits a large result over many packets', async () => {
      const result = await pool.request().query('SELECT big');
      assert.equal(result.recordset.length, 3000);
      assert.deepEqual(result.recordset[2999], {
        i: 2999,
        s: `row 2999 ${'·'.repeat(100)}`,
        max: 'm'.repeat(49),
      });
      assert.equal(result.recordset[0].max, '');
    });

    it('turns a SqlError into an ERROR token the client reports with its number', async () => {
      await assert.rejects(pool.request().query('EXEC boom'), (err: sql.RequestError) => {
        assert.equal(err.number, 2812);
        assert.equal(err.state, 62);
        assert.equal(err.class, 16);
        assert.equal(err.message, "Could not find stored procedure 'boom'.");
        assert.equal(err.serverName, 'sqlmi-standin');
        return true;
      });
      await assert.rejects(
        pool.request().batch('gibberish here'),
        (err: sql.RequestError) => err.number === 102,
      );
      await assert.rejects(pool.request().query('SELECT crash'), (err: sql.RequestError) => {
        assert.equal(err.number, 50000);
        assert.match(err.message, /handler bug/);
        return true;
      });
      // The connection stays usable.
      assert.deepEqual((await pool.request().query('SELECT 1')).recordset[0], { '': 1 });
    });

    it('answers a result the handler got wrong with an error, not a broken stream', async () => {
      await assert.rejects(pool.request().query('SELECT bad_value'), (err: sql.RequestError) => {
        assert.equal(err.number, 50000);
        assert.match(err.message, /cannot encode the handler's result: bad int/);
        return true;
      });
    });

    it('reports rowsAffected for statements without a result set', async () => {
      const ddl = await pool
        .request()
        .batch('ALTER AVAILABILITY GROUP [dag] MODIFY AVAILABILITY GROUP ON ...');
      assert.deepEqual(ddl.rowsAffected, [0]);
      assert.equal(ddl.recordset, undefined);
      const dml = await pool
        .request()
        .input('db', sql.NVarChar, 'x')
        .query('UPDATE t SET a = 1 WHERE db = @db');
      assert.deepEqual(dml.rowsAffected, [2]);
    });

    it('acknowledges an attention (request cancel) and keeps the connection usable', async () => {
      slowGate = gate();
      const before = secure.queries.length;
      const request = pool.request();
      const pending = request.query('SELECT slow');
      await waitFor('the slow query to reach the handler', () =>
        secure.queries.slice(before).some((q) => q.sql === 'SELECT slow'),
      );
      request.cancel();
      slowGate.open();
      await assert.rejects(pending, (err: sql.RequestError) => err.code === 'ECANCEL');
      assert.deepEqual((await pool.request().query('SELECT 1')).recordset[0], { '': 1 });
    });

    it('supports transactions (transaction manager requests)', async () => {
      const tx = new sql.Transaction(pool);
      await tx.begin();
      await new sql.Request(tx).query('UPDATE t SET a = 1');
      await tx.commit();
      const tail = secure.queries.slice(-3).map((q) => q.sql);
      assert.deepEqual(tail, ['BEGIN TRANSACTION', 'UPDATE t SET a = 1', 'COMMIT TRANSACTION']);
    });
  });

  describe('connections', () => {
    it('notices client disconnects and close() ends open sessions', async () => {
      slowGate = gate();
      const server = await startTdsServer({ serverName: 'x', authenticate: () => true, handler });
      const pool = new sql.ConnectionPool(config(server.port, { pool: { min: 0, max: 3 } }));
      await pool.connect();
      const slow = [1, 2, 3].map(() => pool.request().query('SELECT slow'));
      await waitFor('three sessions', () => server.openConnections === 3);
      slowGate.open();
      await Promise.all(slow);
      await pool.close();
      await waitFor('the sessions to close', () => server.openConnections === 0);

      const pool2 = new sql.ConnectionPool(config(server.port));
      await pool2.connect();
      assert.equal(server.openConnections, 1);
      await server.close();
      assert.equal(server.openConnections, 0);
      await assert.rejects(pool2.request().query('SELECT 1'));
      await pool2.close().catch(() => undefined);
    });

    it('caps the query log at 1000 entries', async () => {
      const server = await startTdsServer({ serverName: 'x', authenticate: () => true, handler });
      try {
        await withPool(config(server.port, { pool: { min: 0, max: 1 } }), async (pool) => {
          for (let i = 0; i < 1005; i++) await pool.request().batch('SET NOCOUNT ON');
        });
        assert.equal(server.queries.length, 1000);
      } finally {
        await server.close();
      }
    });
  });
});
