import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The real ARM traffic of test/conformance/recordings/ (copied from ../shared/recordings, see its README), read
 * into request/answer steps in the order they happened.
 */

/** The folder of the recordings (the .jsonl files stay in the source tree; tests run from dist/). */
export const RECORDINGS_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'conformance', 'recordings');

export const LRO_HEADERS = ['azure-asyncoperation', 'location', 'retry-after'] as const;
export type LroHeader = (typeof LRO_HEADERS)[number];

export interface RecordedStep {
  file: string;
  /** The recording's own label (`t3`, `12`, `x8`, `u-tail` …). */
  seq: string;
  /** Position in the file (0-based), to tell apart steps that share a label. */
  index: number;
  /** Time of the answer's Date header (ms); interpolated where the recording lost it. */
  at: number;
  method: string;
  /** Path as recorded (host and query dropped). */
  path: string;
  apiVersion?: string;
  requestBody: unknown;
  status: number;
  /** LRO headers: a string when present (a URL, or a placeholder where the recording lost the text), else null. */
  headers: Record<LroHeader, string | null>;
  /** The answer's body, with "identical to seq N" resolved. */
  responseBody: unknown;
  note?: string;
}

interface RawRow {
  seq: string | number;
  date?: string | null;
  chrono?: number;
  method?: string;
  path?: string;
  api_version?: string;
  request_body?: unknown;
  status?: number;
  headers?: Record<string, string | null>;
  response_body?: unknown;
  elided?: boolean;
  note?: string;
}

export function recordingFiles(): string[] {
  return readdirSync(RECORDINGS_DIR)
    .filter((f) => f.endsWith('.jsonl'))
    .sort();
}

/**
 * The replayable steps of one recording, in the order they happened: by Date, then by the recording's `chrono`
 * where it has one, then as `tieOrder` says for answers within the same second (the PowerShell files are grouped
 * by URI, not by time), then in file order. Elided spans (rows without an answer) are left out; time still
 * moves across them because the next step's Date is later.
 */
export function loadRecording(file: string, tieOrder: string[] = []): RecordedStep[] {
  const rows = readFileSync(path.join(RECORDINGS_DIR, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as RawRow);
  const bySeq = new Map(rows.map((r) => [String(r.seq), r]));
  const steps: Array<RecordedStep & { chrono: number; rank: number }> = [];
  let lastAt: number | undefined;
  rows.forEach((row, index) => {
    if (row.elided || !row.method || row.status === undefined || row.path === undefined) return;
    const at = row.date ? Date.parse(row.date) : approximateTime(row, lastAt);
    lastAt = at;
    const seq = String(row.seq);
    const tie = tieOrder.indexOf(seq);
    steps.push({
      file,
      seq,
      index,
      at,
      method: row.method.toUpperCase(),
      path: row.path,
      apiVersion: row.api_version,
      requestBody: row.request_body ?? undefined,
      status: row.status,
      headers: {
        'azure-asyncoperation': row.headers?.['azure-asyncoperation'] ?? null,
        location: row.headers?.location ?? null,
        'retry-after': row.headers?.['retry-after'] ?? null,
      },
      responseBody: resolveBody(row.response_body, bySeq),
      note: row.note,
      chrono: row.chrono ?? 0,
      rank: tie >= 0 ? tie : tieOrder.length + index,
    });
  });
  steps.sort((a, b) => a.at - b.at || a.chrono - b.chrono || a.rank - b.rank);
  return steps.map(({ chrono: _chrono, rank: _rank, ...step }) => step);
}

/** A row whose Date fell in an unread span: the `~HH:MM:SS` its note gives, on the day of the previous row. */
function approximateTime(row: RawRow, lastAt: number | undefined): number {
  if (lastAt === undefined) throw new Error(`recording row ${row.seq} has no date and no predecessor`);
  const m = /~(\d{2}):(\d{2}):(\d{2})/.exec(row.note ?? '');
  if (!m) return lastAt;
  const day = new Date(lastAt);
  const at = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), +m[1], +m[2], +m[3]);
  return Math.max(at, lastAt);
}

function resolveBody(body: unknown, bySeq: Map<string, RawRow>): unknown {
  if (typeof body !== 'string') return body ?? undefined;
  const m = /^identical to seq (\S+)$/.exec(body);
  if (!m) return body;
  const source = bySeq.get(m[1]);
  if (!source) throw new Error(`response body refers to missing seq ${m[1]}`);
  return resolveBody(source.response_body, bySeq);
}
