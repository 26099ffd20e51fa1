/** Storage container URI rules of Log Replay Service, checkable offline. */
export interface ContainerLocation {
  /** Normalised URI without trailing slash: https://account.blob.core.windows.net/container[/folder]. */
  uri: string;
  /** URL of the container itself (for listing). */
  containerUrl: string;
  container: string;
  /** Folder inside the container ('' for the root), without leading/trailing slash. */
  folder: string;
}

const CONTAINER_RE = /^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$/;
/**
 * MicrosoftDocs/sql-docs azure-sql/managed-instance/log-replay-service-migrate.md (2026-04), Limitations: "The
 * backup URI path, container name, or folder names can't contain `backup` or `Backup` as these are reserved
 * keywords." (older versions of the page said a container or folder *named* so; the current, stricter wording
 * is followed: a name that merely contains the word would fail the start in Azure).
 */
const RESERVED_RE = /backup/i;
/** Storage endpoints of other services (Files, Data Lake, queues, tables, static websites): LRS reads blobs. */
const OTHER_SERVICE_RE = /^[a-z0-9]+\.(file|dfs|queue|table|web|z\d+\.web)\./i;

export function checkContainerUri(raw: string): { location?: ContainerLocation; errors: string[] } {
  const errors: string[] = [];
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return {
      errors: ['is not a URL; use https://<account>.blob.core.windows.net/<container>[/<folder>]'],
    };
  }
  if (url.protocol !== 'https:') errors.push(`must use https, not ${url.protocol.replace(':', '')}`);
  if (url.search || url.hash) {
    errors.push(
      'must not carry a query string: put the SAS token in storageContainerSasToken, not in the URI',
    );
  }
  if (url.username || url.password) errors.push('must not contain credentials');
  const service = OTHER_SERVICE_RE.exec(url.hostname);
  if (service) {
    errors.push(
      `points to the ${service[1]} endpoint of the storage account (${url.hostname}); Log Replay Service reads backups from the Blob service: use https://<account>.blob.core.windows.net/<container>[/<folder>]`,
    );
  }
  const segments = url.pathname
    .split('/')
    .filter((s) => s.length > 0)
    .map(decodeURIComponent);
  // IP or localhost endpoints (emulators, private endpoints by IP) are path-style: /<account>/<container>/...
  const pathStyle = /^(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]|localhost)$/i.test(url.hostname);
  const base = pathStyle ? segments.slice(0, 1) : [];
  const rest = pathStyle ? segments.slice(1) : segments;
  if (pathStyle && base.length === 0) errors.push('has no account name in its path (path-style endpoint)');
  const container = rest[0];
  if (!container) {
    errors.push('names no container; use https://<account>.blob.core.windows.net/<container>[/<folder>]');
    return { errors };
  }
  if (!CONTAINER_RE.test(container)) {
    errors.push(
      `has an invalid container name '${container}': 3-63 lowercase letters, digits and single hyphens, starting with a letter or digit`,
    );
  }
  const reserved = rest.find((s) => RESERVED_RE.test(s));
  if (reserved !== undefined) {
    errors.push(
      `has '${reserved}' in its path: container and folder names must not contain the reserved keyword 'backup' or 'backups' (Log Replay Service refuses them); rename the folder or container`,
    );
  }
  if (errors.length) return { errors };
  const origin = `${url.protocol}//${url.host}`;
  const prefix = base.length ? `/${base.map(encodeURIComponent).join('/')}` : '';
  const folder = rest.slice(1).join('/');
  const containerUrl = `${origin}${prefix}/${encodeURIComponent(container)}`;
  return {
    location: {
      uri: folder ? `${containerUrl}/${rest.slice(1).map(encodeURIComponent).join('/')}` : containerUrl,
      containerUrl,
      container,
      folder,
    },
    errors,
  };
}
