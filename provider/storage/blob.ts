import { MigrationError } from '../core/errors';
import type { BackupStoragePort } from '../core/lrs/ports';
import type { ContainerLocation } from '../core/storageUri';

/** Lists the backup folder with the user's SAS, exactly as Log Replay Service will read it. */
export function createBackupStorage(location: ContainerLocation, sasToken: string): BackupStoragePort {
  return {
    async list() {
      const { ContainerClient } = require('@azure/storage-blob') as typeof import('@azure/storage-blob');
      const client = new ContainerClient(`${location.containerUrl}?${sasToken}`);
      const prefix = location.folder ? `${location.folder}/` : undefined;
      const files: string[] = [];
      try {
        for await (const blob of client.listBlobsFlat({ prefix })) {
          files.push(prefix ? blob.name.slice(prefix.length) : blob.name);
          if (files.length >= 100_000) break;
        }
      } catch (e) {
        const err = e as { statusCode?: number; code?: string; message?: string };
        const code = err.code ?? String(err.statusCode ?? '');
        const hint =
          err.statusCode === 403
            ? code === 'AuthorizationPermissionMismatch' || code === 'AuthorizationFailure'
              ? 'the SAS does not allow listing: generate one with Read and List (sp=rl) for this container'
              : 'the SAS is not accepted (expired, wrong container, or signature): generate a new one with Read and List (sp=rl)'
            : err.statusCode === 404
              ? 'the container does not exist: check storageContainerUri'
              : 'check the storage account name, its firewall and that this machine can reach it';
        throw new MigrationError(
          'StorageUnreadable',
          `Cannot list the backup folder ${location.uri}: ${err.message?.split('\n')[0] ?? String(e)}`,
          {
            cause: e,
            causeCode: code,
            hint,
          },
        );
      }
      return { files };
    },
  };
}
