import assert from 'node:assert/strict';
import { ALLOWED, type AllowedDifference } from './allowlist';
import { type Difference, formatGrouped } from './compare';
import { recordingFiles } from './recordings';
import { type ReplayResult, replay } from './replay';
import { SCENARIOS } from './scenarios';

/**
 * Conformance of the ARM stand-in with real Azure traffic: every recording of test/conformance/recordings/ is
 * replayed request by request against a fresh sandbox, and each answer is compared with the recorded one (status,
 * LRO headers, body field names, state strings; operation lifetimes through the polls, simulated time moving as
 * the recording's did). A difference fails the suite unless allowlist.ts lists it with its reason.
 */

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

export function allows(entry: AllowedDifference, d: Difference): boolean {
  return (
    list(entry.files).includes(d.file) &&
    (entry.seqs === '*' || entry.seqs.includes(d.seq)) &&
    entry.aspect === d.aspect &&
    list(entry.at).includes(d.at) &&
    (entry.recorded === undefined || entry.recorded === d.recorded) &&
    (entry.sandbox === undefined || entry.sandbox === d.sandbox)
  );
}

function describeEntry(e: AllowedDifference): string {
  return `${list(e.files).join(',')} seqs ${e.seqs === '*' ? '*' : e.seqs.join(',')} ${e.aspect} ${list(e.at).join(',')}`;
}

describe('conformance: the ARM stand-in answers as the recorded Azure traffic', function () {
  this.timeout(120_000);
  const results: ReplayResult[] = [];

  it('has one scenario per recording, and well-formed allow-list entries', () => {
    assert.deepEqual(SCENARIOS.map((s) => s.file).sort(), recordingFiles());
    for (const e of ALLOWED) {
      assert.ok(e.reason.trim().length > 20, `${describeEntry(e)}: say why`);
      if (e.seqs !== '*')
        assert.equal(list(e.files).length, 1, `${describeEntry(e)}: explicit seqs need one file`);
      for (const f of list(e.files))
        assert.ok(recordingFiles().includes(f), `${describeEntry(e)}: no recording ${f}`);
    }
  });

  for (const scenario of SCENARIOS) {
    it(`replays ${scenario.file} (${scenario.client})`, async () => {
      const result = await replay(scenario);
      results.push(result);
      const unlisted = result.differences.filter((d) => !ALLOWED.some((e) => allows(e, d)));
      assert.ok(
        unlisted.length === 0,
        `${unlisted.length} difference(s) from the recording not in test/conformance/allowlist.ts:\n` +
          formatGrouped(unlisted)
            .map((line) => `  ${line}`)
            .join('\n'),
      );
    });
  }

  it('lists no difference that is gone (remove such allow-list entries)', function () {
    const replayed = new Set(results.map((r) => r.file));
    if (replayed.size < SCENARIOS.length) this.skip(); // a --grep run: not every recording was replayed
    const all = results.flatMap((r) => r.differences);
    const stale: string[] = [];
    for (const e of ALLOWED) {
      const hits = all.filter((d) => allows(e, d));
      if (hits.length === 0) stale.push(`${describeEntry(e)}: matches no difference any more`);
      else if (e.seqs !== '*') {
        for (const seq of e.seqs) {
          if (!hits.some((d) => d.seq === seq))
            stale.push(`${describeEntry(e)}: seq ${seq} shows it no more`);
        }
      }
    }
    const pending = (slice: string) => ALLOWED.filter((e) => e.pending === slice).length;
    console.log(
      `      conformance: ${results.reduce((n, r) => n + r.steps, 0)} recorded steps of ${results.length} ` +
        `recordings replayed; ${all.length} differences, all allow-listed by ${ALLOWED.length} entries ` +
        `(${pending('lrs')} pending lrs, ${pending('link')} pending link)`,
    );
    assert.deepEqual(stale, []);
  });
});
