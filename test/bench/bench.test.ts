/**
 * The bench still runs (CI): `bench/run.js --quick` with tiny sizes (a wave of 2 databases). No timed
 * assertions: figures belong in bench/RESULTS.md (`npm run bench`), not in tests.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../sandbox/engine/consumer';

const run = promisify(execFile);

describe('bench (quick mode)', function () {
  this.timeout(600_000);

  it('runs every benchmark with tiny sizes and writes the report', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sqlmi-bench-'));
    try {
      const file = path.join(dir, 'RESULTS.md');
      await run(
        process.execPath,
        [path.join(PACKAGE_ROOT, 'dist', 'bench', 'run.js'), '--quick', '--out', file],
        {
          cwd: PACKAGE_ROOT,
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      const text = readFileSync(file, 'utf8');
      for (const expected of [
        'Machine:',
        '__provider size',
        '2-database wave',
        'ARM requests',
        'peak RSS',
        'preview (check + diff',
      ]) {
        assert.ok(text.includes(expected), `${expected} in\n${text}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
