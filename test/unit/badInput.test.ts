/**
 * The bad-input suite: every case of badInputCases.ts goes through the providers' own `check` (what the
 * provider host calls) with all I/O refused (sockets, DNS, fetch, and requiring an Azure, SQL or storage
 * adapter). Each bad case must give exactly one failure, on the right field, starting with the field name,
 * saying what to do; no message or printed line holds a raw control character or a secret; every line names
 * its resource. Accepted cases (preview values not known yet) must give no failure at all.
 */
import assert from 'node:assert/strict';
import { hasUnsafeCharacters } from '../../provider/core/shown';
import { distributedAvailabilityGroupLink } from '../../provider/resources/distributedAvailabilityGroupLink';
import { logReplayMigration } from '../../provider/resources/logReplayMigration';
import { assertNoSecrets, type Surface } from '../support/secretScan';
import { withoutIo } from '../support/noIo';
import { ACCEPTED, type AcceptedCase, BAD_CASES, type BadCase, type Kind, SECRETS } from './badInputCases';

const PROVIDERS = { lrs: logReplayMigration, link: distributedAvailabilityGroupLink };
const KINDS = { lrs: 'LogReplayMigration', link: 'DistributedAvailabilityGroupLink' };

interface Checked {
  failures: { property: string; reason: string }[];
  inputs: Record<string, unknown>;
  lines: string[];
  attempts: string[];
  error?: unknown;
}

/** The provider's check, with every I/O refused and every printed line captured. */
export async function checkWithoutIo(
  kind: Kind,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<Checked> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  try {
    const r = await withoutIo(() => PROVIDERS[kind].check(olds, news));
    return {
      failures: r.value?.failures ?? [],
      inputs: r.value?.inputs ?? {},
      lines,
      attempts: r.attempts,
      error: r.error,
    };
  } finally {
    console.log = log;
  }
}

function assertLines(kind: Kind, name: string, lines: string[]): void {
  for (const line of lines) {
    assert.ok(line.startsWith(`[${KINDS[kind]} ${name}] `), `line does not name its resource: ${line}`);
    assert.ok(!hasUnsafeCharacters(line), `raw control character in a line: ${JSON.stringify(line)}`);
  }
}

function surfaces(c: Checked, withInputs: boolean): Surface[] {
  const s: Surface[] = [
    { name: 'check failures', value: c.failures },
    ...c.lines.map((l, n) => ({ name: `line ${n + 1}`, value: l })),
  ];
  if (c.error !== undefined) s.push({ name: 'check error', value: c.error });
  // Checked inputs carry the secrets in their secret fields by design (the engine stores those as secrets).
  if (withInputs)
    s.push({
      name: 'checked inputs',
      value: c.inputs,
      secretFields: ['storageContainerSasToken', 'sqlServer', 'managedInstanceSql', '__provider'],
    });
  return s;
}

let rejected = 0;
let accepted = 0;
let scanned = 0;

describe('bad input: one clear failure in check, before any call', () => {
  after(() => {
    const per = (k: Kind) => BAD_CASES.filter((c) => c.kind === k).length;
    console.log(
      `      bad-input suite: ${rejected} rejected cases (LogReplayMigration ${per('lrs')}, DistributedAvailabilityGroupLink ${per('link')}), ${accepted} accepted preview cases, ${scanned} surfaces scanned for secrets`,
    );
  });

  it('has at least 150 rejected cases across both resources', () => {
    assert.ok(BAD_CASES.length >= 150, `${BAD_CASES.length} cases`);
    assert.ok(BAD_CASES.filter((c) => c.kind === 'lrs').length >= 60);
    assert.ok(BAD_CASES.filter((c) => c.kind === 'link').length >= 60);
    const names = BAD_CASES.map((c) => `${c.kind}: ${c.name}`);
    assert.equal(new Set(names).size, names.length, 'case names are unique');
  });

  for (const c of BAD_CASES) {
    it(`${KINDS[c.kind]}: ${c.name} → ${c.field}`, async () => {
      const r = await checkWithoutIo(c.kind, c.olds ?? {}, c.news);
      assert.equal(r.error, undefined, `check threw: ${String(r.error)}`);
      assert.deepEqual(r.attempts, [], 'check touched the outside world');
      const text = r.failures.map((f) => `${f.property}: ${f.reason}`).join('\n');
      assert.equal(r.failures.length, 1, `one failure expected, got:\n${text}`);
      const [f] = r.failures;
      assert.equal(f.property, c.field, text);
      assert.ok(f.reason.startsWith(`${c.field} `), `the message starts with the field: ${f.reason}`);
      assert.match(f.reason, c.says);
      assert.ok(!f.reason.includes('\n'), 'one line');
      assert.ok(!hasUnsafeCharacters(f.reason), `raw control character: ${JSON.stringify(f.reason)}`);
      assertLines(c.kind, String(c.news.pulumiName), r.lines);
      const s = surfaces(r, false);
      scanned += s.length;
      assertNoSecrets(s, SECRETS);
      rejected++;
    });
  }

  for (const c of ACCEPTED) {
    it(`${KINDS[c.kind]} accepts: ${c.name}`, async () => {
      const r = await checkWithoutIo(c.kind, c.olds ?? {}, c.news);
      assert.equal(r.error, undefined, `check threw: ${String(r.error)}`);
      assert.deepEqual(r.attempts, [], 'check touched the outside world');
      assert.deepEqual(r.failures, []);
      assertLines(c.kind, String(c.news.pulumiName), r.lines);
      const s = surfaces(r, true);
      scanned += s.length;
      assertNoSecrets(s, SECRETS);
      accepted++;
    });
  }
});

export type { AcceptedCase, BadCase };
