/**
 * The benches still run: `bench/run.js --quick` (tiny sizes) in a child process, writing its results to a
 * temporary file. Figures are not checked (benches are figures, never timed assertions): only that every
 * bench ran to the end and reported its section with the machine.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { node22, PACKAGE_ROOT } from '../../sandbox/engine/consumer';

describe('bench (quick mode)', function () {
  this.timeout(600_000);

  it('runs every bench with tiny sizes and writes the results with the machine', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sqlmi-bench-'));
    const out = path.join(dir, 'RESULTS.md');
    try {
      const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
        (resolve) => {
          execFile(
            node22(),
            [path.join(PACKAGE_ROOT, 'dist', 'bench', 'run.js'), '--quick', '--out', out],
            { cwd: PACKAGE_ROOT, maxBuffer: 64 * 1024 * 1024 },
            (err, so, se) =>
              resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: so, stderr: se }),
          );
        },
      );
      assert.equal(code, 0, `bench failed:\n${stderr || stdout.slice(-4000)}`);
      const text = readFileSync(out, 'utf8');
      assert.match(text, /^- mode: quick/m);
      assert.match(text, /^- cpu: .+, \d+ cores/m);
      assert.match(text, /^- node v\d+/m);
      for (const section of [
        'Cutover overhead',
        'ARM requests and T-SQL statements per operation',
        'LSN gate: one reading',
        'LRS poll cost',
        'Preview: 50 resources',
        'Token requests',
        'A wave of databases',
      ]) {
        assert.ok(text.includes(`## ${section}`), `section "${section}" missing:\n${text}`);
      }
      for (const figure of [
        'ARM requests on its own paths per database in the wave',
        'instance reads in the wave',
        'peak RSS of the provider host',
      ]) {
        assert.ok(text.includes(figure), `figure "${figure}" missing:\n${text}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
