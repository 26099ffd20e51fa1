import { MigrationError } from '../core/errors';
import { lrsHint } from '../core/lrs/hints';

// The process's one credential lives in provider/runtime/credential.ts (ARM and SQL logins share it).
export { credential, SharedTokenCredential } from '../runtime/credential';

export const PUBLIC_ARM = 'https://management.azure.com';

const SOVEREIGN_SCOPES: Record<string, string> = {
  'management.azure.com': 'https://management.azure.com/.default',
  'management.chinacloudapi.cn': 'https://management.chinacloudapi.cn/.default',
  'management.usgovcloudapi.net': 'https://management.usgovcloudapi.net/.default',
};

export interface ArmTarget {
  endpoint: string;
  scope: string;
}

/**
 * Where ARM is: the resource's armEndpoint, else SQLMI_ARM_ENDPOINT (rehearsals against the sandbox),
 * else the public cloud. Unknown hosts (stand-ins, private clouds) use the public cloud's token scope.
 */
export function resolveArm(armEndpoint: string | undefined | null, log?: (line: string) => void): ArmTarget {
  const raw = armEndpoint || process.env.SQLMI_ARM_ENDPOINT || PUBLIC_ARM;
  const endpoint = raw.replace(/\/+$/, '');
  const host = new URL(endpoint).host.toLowerCase();
  const scope = SOVEREIGN_SCOPES[host] ?? SOVEREIGN_SCOPES['management.azure.com'];
  if (endpoint !== PUBLIC_ARM) log?.(`using Azure Resource Manager at ${endpoint}`);
  return { endpoint, scope };
}

interface AzureErrorLike {
  code?: string;
  statusCode?: number;
  message?: string;
  details?: { error?: { code?: string; message?: string } };
}

/** Keeps Azure's code, adds what to do next. */
export function fromAzureError(e: unknown, doing: string): MigrationError {
  if (e instanceof MigrationError) return e;
  const err = (e ?? {}) as AzureErrorLike;
  const inner = err.details?.error;
  const code = inner?.code ?? err.code;
  const message = inner?.message ?? err.message ?? String(e);
  const status = err.statusCode;
  if ((e as Error)?.name === 'AbortError') {
    return new MigrationError('Timeout', `Timed out ${doing}.`, {
      cause: e,
      hint: 'raise the deadline input and run up again (it resumes)',
    });
  }
  if (
    status === 401 ||
    code === 'CredentialUnavailableError' ||
    (e as Error)?.name === 'CredentialUnavailableError' ||
    (e as Error)?.name === 'AuthenticationError'
  ) {
    return new MigrationError(
      'AzureAuthentication',
      `Could not authenticate to Azure while ${doing}: ${message}`,
      {
        cause: e,
        causeCode: code ?? status,
        hint: 'sign in (az login), or run with a managed identity or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET in the environment',
      },
    );
  }
  return new MigrationError(
    'AzureError',
    `Azure refused ${doing}${status ? ` (HTTP ${status})` : ''}: ${message}`,
    {
      cause: e,
      causeCode: code ?? status,
      hint:
        lrsHint(code) ??
        (status && status >= 500
          ? 'Azure had a server error; run up again (every step resumes)'
          : status === 403
            ? 'the identity running Pulumi lacks permission on the managed instance'
            : undefined),
    },
  );
}
