#!/usr/bin/env node
/**
 * `sqlmi-sandbox [--speed N] [--seed <stack file>]`: starts the stand-ins alone (ARM over https, Azurite,
 * TDS stand-ins for SQL Server and the managed instance, one simulated world) and prints the environment to
 * export so that the real Pulumi CLI (`pulumi login --local`) runs programs against them, plus the values a
 * stack config needs. `--seed` prepares what `sqlmi-sandbox:world` in that stack file asks for. Runs until
 * Ctrl-C (SIGINT) or SIGTERM, then stops every stand-in and exits 0.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { type Sandbox, startSandbox } from '../index';
import { sandboxSubstitutions, seedWorld } from '../program/bindings';
import { resolveConfig } from '../program/config';

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const speed = Number(arg('--speed') ?? 1);
  const sb: Sandbox = await startSandbox({ speed, link: { firstBackupDelayMs: 3 * 60_000 } });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the sandbox…`);
    await sb.stop();
    console.log('sandbox stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const values = sandboxSubstitutions(sb);
  const seed = arg('--seed');
  if (seed) {
    const doc = (yaml.load(readFileSync(seed, 'utf8')) ?? {}) as { config?: Record<string, unknown> };
    await seedWorld(sb, resolveConfig('sandbox', {}, doc.config ?? {}, {}, values), (l) => console.log(l));
  }
  const caFile = path.join(path.dirname(sb.arm.caFile), 'tds-ca.pem');
  writeFileSync(caFile, sb.tdsCa);
  console.log(`Sandbox running (simulated time x${speed}). In another shell:\n`);
  for (const [key, value] of Object.entries(sb.envOverrides())) console.log(`export ${key}='${value}'`);
  console.log(
    'unset IDENTITY_SERVER_THUMBPRINT MSI_ENDPOINT MSI_SECRET IMDS_ENDPOINT AZURE_FEDERATED_TOKEN_FILE',
  );
  console.log('export PULUMI_CONFIG_PASSPHRASE=sandbox   # any passphrase: a local backend for rehearsals');
  console.log('pulumi login --local\n');
  console.log('Values for your stack config (sqlmi-rehearse fills ${sandbox:<name>} with these):');
  for (const [key, value] of Object.entries(values)) {
    if (key === 'tdsCa') console.log(`  ${key}: (PEM in ${caFile})`);
    else console.log(`  ${key}: ${value}`);
  }
  console.log('\nCtrl-C stops the sandbox.');
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
