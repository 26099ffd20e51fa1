/**
 * The T-SQL side of the stand-ins: one `SqlEndpoint` per instance (SQL Server, managed instance). It checks
 * logins against the world's credentials, recognises statements by normalised shape (catalog.ts), answers
 * them from the link world, records every statement executed, and fails anything else like SQL Server does
 * (137 undeclared variable, 208 invalid object name, 102 incorrect syntax). `faults` (faults.ts) makes chosen
 * statement shapes fail, stall, run slow or lose their session, before or after they act.
 *
 * Plug it into the TDS server: `startTdsServer({ …, authenticate: e.authenticate, handler: e.handle })`.
 */
import { type LoginInfo, type QueryContext, type QueryResult, SqlError } from '../tds/types';
import { EngineError, type LinkWorld, type Side } from '../world/link';
import { KNOWN_OBJECTS, STATEMENTS, type Statement } from './catalog';
import { type SqlFault, type SqlFaultKind, SqlFaults } from './faults';
import { type Match, matchPattern, SqlSyntaxError, type Token, tokenize } from './normalize';

export interface ExecutedStatement {
  /** Simulated time. */
  at: number;
  side: Side;
  user: string;
  sql: string;
  params: Record<string, unknown>;
  /** The recognised statement's name (catalog.ts), or null when it was not recognised. */
  statement: string | null;
  error?: { number: number; message: string };
  /** The statement was run against the world without error (false when a fault stopped it first). */
  ran: boolean;
  /** The injected fault that hit it, if any. */
  fault?: { id: number; kind: SqlFaultKind; when: 'before' | 'after'; cancelled?: boolean };
}

export class SqlEndpoint {
  /** Every statement this endpoint was asked to run, oldest first. */
  readonly executed: ExecutedStatement[] = [];
  /** Faults by statement shape (faults.ts). */
  readonly faults = new SqlFaults();

  constructor(
    readonly world: LinkWorld,
    readonly side: Side,
  ) {}

  /** SQL logins from the world's credentials (user case-insensitive), access tokens from its allow-list. */
  readonly authenticate = (login: LoginInfo): boolean => {
    if (login.authKind === 'token') {
      const token = login.accessToken;
      if (!token) return false;
      return (
        this.world.credentials.tokens.includes(token) || this.world.credentials.acceptToken?.(token) === true
      );
    }
    const logins = this.world.credentials[this.side];
    return logins.some(
      (l) => l.user.toLowerCase() === login.user.toLowerCase() && l.password === login.password,
    );
  };

  readonly handle = (ctx: QueryContext): QueryResult | Promise<QueryResult> => {
    const entry: ExecutedStatement = {
      at: this.world.clock.now(),
      side: this.side,
      user: ctx.login.user,
      sql: ctx.sql,
      params: { ...ctx.params },
      statement: null,
      ran: false,
    };
    this.executed.push(entry);
    let statement: Statement | undefined;
    let run: () => QueryResult;
    try {
      const tokens = tokenize(ctx.sql);
      const recognised = recognise(tokens);
      statement = recognised.statement;
      entry.statement = statement.name;
      const bound = { world: this.world, side: this.side, match: recognised.match };
      const s = statement;
      const params = bindParams(s, ctx);
      run = () => s.run({ ...bound, params });
    } catch (err) {
      run = () => {
        throw err;
      };
    }
    const fault = this.faults.take({
      name: entry.statement,
      changes: statement?.changes ?? false,
      sql: ctx.sql,
      params: ctx.params,
    });
    if (!fault) return this.run(entry, run);
    return this.faulted(fault, entry, run, ctx.signal);
  };

  /** Statements that changed something (ALTER/DROP) as received, e.g. to assert that no DROP was sent. */
  changes(): ExecutedStatement[] {
    return this.executed.filter((e) => STATEMENTS.find((s) => s.name === e.statement)?.changes);
  }

  /** Statements that changed something and really acted on the world (not stopped by a fault or an error). */
  applied(): ExecutedStatement[] {
    return this.changes().filter((e) => e.ran);
  }

  private run(entry: ExecutedStatement, run: () => QueryResult): QueryResult {
    try {
      const result = run();
      entry.ran = true;
      return result;
    } catch (err) {
      const error = toSqlError(err);
      entry.error = { number: error.number, message: error.message };
      throw error;
    }
  }

  /** A statement an injected fault hit: hold, fail or kill it, before or after it acts. */
  private async faulted(
    fault: SqlFault,
    entry: ExecutedStatement,
    run: () => QueryResult,
    signal: AbortSignal | undefined,
  ): Promise<QueryResult> {
    const when = fault.when ?? 'before';
    entry.fault = { id: fault.id, kind: fault.kind, when };
    const holds = fault.kind === 'stall' || fault.kind === 'slow';
    const hold = async (): Promise<void> => {
      try {
        await fault.hold(signal, () => this.world.clock.now());
      } catch (err) {
        entry.fault!.cancelled = true;
        throw err;
      }
    };
    let result: QueryResult | undefined;
    if (when === 'after') {
      try {
        result = this.run(entry, run);
      } catch (err) {
        // The statement failed on its own: that is its answer, unless the fault takes the session with it.
        if (fault.kind !== 'kill' && fault.kind !== 'drop') throw err;
      }
      if (holds) {
        await hold();
        return result!;
      }
    } else if (holds) {
      await hold();
      return this.run(entry, run);
    }
    const failure = fault.failure();
    if (failure instanceof SqlError) entry.error = { number: failure.number, message: failure.message };
    throw failure;
  }
}

function recognise(tokens: Token[]): { statement: Statement; match: Match } {
  let best = -1;
  for (const statement of STATEMENTS) {
    const m = matchPattern(tokens, statement.pattern);
    if (typeof m !== 'number') return { statement, match: m };
    best = Math.max(best, m);
  }
  const unknown = referencedObjects(tokens).find((o) => !KNOWN_OBJECTS.has(o.toLowerCase()));
  if (unknown) throw new SqlError(208, `Invalid object name '${unknown}'.`);
  const near = tokens[best];
  throw new SqlSyntaxError(near ? near.value : (tokens[tokens.length - 1]?.value ?? ''));
}

/** Dotted names that follow FROM or JOIN (not subqueries). */
function referencedObjects(tokens: Token[]): string[] {
  const names: string[] = [];
  for (let i = 0; i < tokens.length - 1; i++) {
    if ((tokens[i].shape !== 'from' && tokens[i].shape !== 'join') || tokens[i + 1].shape === '(') continue;
    let j = i + 1;
    const parts = [tokens[j].value];
    while (tokens[j + 1]?.shape === '.' && tokens[j + 2]) {
      parts.push(tokens[j + 2].value);
      j += 2;
    }
    names.push(parts.join('.'));
  }
  return names;
}

function bindParams(statement: Statement, ctx: QueryContext): Record<string, string | null> {
  const bound: Record<string, string | null> = {};
  for (const name of statement.params) {
    const key = Object.keys(ctx.params).find((k) => k.toLowerCase() === name);
    if (key === undefined) throw new SqlError(137, `Must declare the scalar variable "@${name}".`, 2, 15);
    const value = ctx.params[key];
    bound[name] = value === null || value === undefined ? null : String(value);
  }
  return bound;
}

function toSqlError(err: unknown): SqlError {
  if (err instanceof SqlError) return err;
  if (err instanceof EngineError) return new SqlError(err.number, err.message);
  if (err instanceof SqlSyntaxError) return new SqlError(102, err.message, 1, 15);
  throw err;
}
