/**
 * Shared access signature rules of Log Replay Service, checkable offline: exactly read + list, a real
 * signature, not a stored access policy, https allowed, valid now and (preferably) for the 30 days LRS may run.
 * The token itself never leaves this module in a message: only field names and dates do.
 */
export const LRS_MAX_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface SasFacts {
  permissions: string;
  expiresOn?: Date;
  startsOn?: Date;
  protocol?: string;
  storedPolicy: boolean;
  resource?: string;
}

export interface SasVerdict {
  /** The token to send to Azure: without a leading '?'. */
  normalized: string;
  facts?: SasFacts;
  errors: string[];
  warnings: string[];
}

export function checkSasToken(raw: string, nowMs: number): SasVerdict {
  const errors: string[] = [];
  const warnings: string[] = [];
  let token = raw.trim();
  if (/^https?:\/\//i.test(token)) {
    return {
      normalized: '',
      errors: [
        'is a URL; give only the SAS token (the part after "?"), and the container URL in storageContainerUri',
      ],
      warnings,
    };
  }
  if (token.startsWith('?')) token = token.slice(1);
  const params = new URLSearchParams(token);
  const get = (k: string) => params.get(k) ?? undefined;
  if (!get('sig')) {
    errors.push(
      'is not a SAS token (no sig=); generate one for the container with Read and List permissions',
    );
    return { normalized: token, errors, warnings };
  }
  const facts: SasFacts = {
    permissions: get('sp') ?? '',
    protocol: get('spr'),
    storedPolicy: params.has('si'),
    resource: get('sr'),
    expiresOn: parseSasDate(get('se')),
    startsOn: parseSasDate(get('st')),
  };
  // The SAS must cover the whole container (log-replay-service-migrate.md, Limitations: "must be generated for
  // the entire Azure Blob Storage container"): LRS lists it. A container SAS (sr=c) does (lrs-ps-failed-start
  // v1), and so does an account SAS for the Blob service (ss=b&srt=sco in lrs-continuous t2 and in the guide's
  // examples); a SAS for one blob (sr=b, bs, bv) or one directory (sr=d) does not.
  const services = get('ss');
  if (facts.resource !== undefined) {
    if (facts.resource !== 'c') {
      errors.push(
        `is a SAS for ${facts.resource === 'd' ? 'one directory' : 'one blob'} (sr=${facts.resource}); Log Replay Service lists the whole container: generate a container SAS (sr=c) with Read and List`,
      );
    }
  } else if (services !== undefined) {
    if (!services.includes('b')) {
      errors.push(
        `is an account SAS without the Blob service (ss=${services}); generate a container SAS (sr=c), or an account SAS with ss=b`,
      );
    } else {
      const types = get('srt') ?? '';
      if (!types.includes('c') || !types.includes('o')) {
        warnings.push(
          `storageContainerSasToken is an account SAS with resource types srt=${types}: listing and reading backups needs container and object (srt=co); a container SAS (sr=c) is simpler`,
        );
      }
    }
  } else {
    errors.push(
      'names neither a container (sr=c) nor an account SAS (ss=, srt=); generate a container SAS (sr=c) with Read and List',
    );
  }
  if (facts.storedPolicy) {
    errors.push(
      'uses a stored access policy (si=), which Log Replay Service does not accept; generate an ad-hoc SAS with sp=rl and an expiry instead',
    );
  }
  const perms = new Set(facts.permissions.split(''));
  const extra = [...perms].filter((p) => p !== 'r' && p !== 'l');
  const missing = ['r', 'l'].filter((p) => !perms.has(p));
  if (!facts.permissions) {
    if (!facts.storedPolicy)
      errors.push('has no permissions (sp=); it must grant exactly Read and List (sp=rl)');
  } else if (extra.length || missing.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`lacks ${missing.map(permissionName).join(' and ')}`);
    if (extra.length) parts.push(`also grants ${extra.map(permissionName).join(', ')}`);
    errors.push(
      `must grant exactly Read and List (sp=rl) but has sp=${facts.permissions}: it ${parts.join(' and ')}; generate a new SAS with only Read and List`,
    );
  }
  if (facts.protocol !== undefined && !facts.protocol.split(',').includes('https')) {
    errors.push(`allows only ${facts.protocol} (spr=); Log Replay Service reads over https: use spr=https`);
  }
  if (!get('se') && !facts.storedPolicy) {
    errors.push('has no expiry (se=); set an expiry that covers the whole migration');
  } else if (get('se') && !facts.expiresOn) {
    errors.push(`has an expiry that is not a date (se=${get('se')})`);
  } else if (facts.expiresOn) {
    const left = facts.expiresOn.getTime() - nowMs;
    if (left <= 0) {
      errors.push(
        `expired at ${facts.expiresOn.toISOString()}; generate a new SAS valid for the whole migration`,
      );
    } else if (left < LRS_MAX_DAYS * DAY_MS) {
      warnings.push(
        `SAS token expires at ${facts.expiresOn.toISOString()}, within the ${LRS_MAX_DAYS} days a Log Replay Service migration may run; the restore fails if it expires before completion`,
      );
    }
  }
  if (facts.startsOn && facts.startsOn.getTime() > nowMs + 5 * 60 * 1000) {
    warnings.push(`SAS token is not valid before ${facts.startsOn.toISOString()} (st=)`);
  }
  return { normalized: token, facts, errors, warnings };
}

function permissionName(p: string): string {
  const names: Record<string, string> = {
    r: 'Read (r)',
    l: 'List (l)',
    w: 'Write (w)',
    d: 'Delete (d)',
    a: 'Add (a)',
    c: 'Create (c)',
    x: 'Delete version (x)',
    y: 'Permanent delete (y)',
    t: 'Tags (t)',
    f: 'Filter (f)',
    m: 'Move (m)',
    e: 'Execute (e)',
    i: 'Set immutability policy (i)',
    p: 'Process (p)',
    u: 'Update (u)',
  };
  return names[p] ?? `'${p}'`;
}

function parseSasDate(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
