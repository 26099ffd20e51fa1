import { startSandbox } from '../../sandbox';
import { rawRequest } from '../sandbox/helpers';
import { compareStep, type Difference, operationFamily } from './compare';
import { loadRecording } from './recordings';
import { requestBody, type Scenario } from './scenarios';

export interface ReplayResult {
  file: string;
  steps: number;
  differences: Difference[];
}

/** Operation URLs are matched without host and query (the recordings dropped or elided both). */
const urlKey = (url: string) =>
  url
    .replace(/^https?:\/\/[^/]+/i, '')
    .replace(/\?.*$/, '')
    .toLowerCase();

/**
 * Replays one recording against a fresh sandbox: the world set up as the recording starts, simulated time frozen
 * and moved to each step's recorded Date before its request is sent, operation polls sent to the URLs the
 * stand-in itself answered (mapped from the recorded ones), every answer compared with the recorded one.
 */
export async function replay(scenario: Scenario): Promise<ReplayResult> {
  const steps = loadRecording(scenario.file, scenario.tieOrder);
  const sb = await startSandbox({
    ...scenario.options,
    speed: 0,
    startMs: steps[0].at - 60_000,
    instances: [scenario.instance],
  });
  const differences: Difference[] = [];
  /** Recorded operation URL → the stand-in's URL answered at the same step. */
  const operations = new Map<string, string>();
  try {
    await scenario.setup(sb);
    for (const step of steps) {
      const wait = step.at - sb.clock.now();
      if (wait > 0) sb.clock.advance(wait);
      let target = `${step.path}?api-version=${encodeURIComponent(step.apiVersion ?? '')}`;
      if (operationFamily(step.path)) {
        const mapped = operations.get(urlKey(step.path));
        if (!mapped) {
          differences.push({
            file: step.file,
            seq: step.seq,
            aspect: 'replay',
            at: 'operation poll',
            recorded: 'polled an operation URL of an earlier answer',
            sandbox: 'no such operation URL in the earlier answers',
          });
          continue;
        }
        target = mapped.replace(/^https?:\/\/[^/]+/i, '');
      }
      const answer = await rawRequest(sb, step.method, target, { body: requestBody(step, sb) });
      for (const name of ['azure-asyncoperation', 'location'] as const) {
        const recorded = step.headers[name];
        const sandbox = answer.headers[name];
        if (recorded && typeof sandbox === 'string' && operationFamily(recorded)) {
          operations.set(urlKey(recorded), sandbox);
        }
      }
      differences.push(...compareStep(step, answer));
    }
  } finally {
    await sb.stop();
  }
  return { file: scenario.file, steps: steps.length, differences };
}
