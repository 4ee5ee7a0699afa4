/**
 * Defaults that depend on other fields (connection ids from server names, the target kind from
 * the target server, the mode from the kind). zod runs this only on documents that passed every
 * check (unknown fields aside), so every reference resolves.
 */
import type { PlanDocument } from './document-schema';
import { defaultMode } from './rules';

export function fillDerivedDefaults(document: PlanDocument) {
  const kindOfServer = new Map(document.targetServers.map((server) => [server.name, server.kind]));
  const connectionId = (side: 'source' | 'target', server: string) => `mssql_${side}_${server.replace(/-/g, '_')}`;
  return {
    ...document,
    // Sorted, so equal plans render identically whatever the order they were written in.
    tags: Object.fromEntries(Object.entries(document.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    sourceServers: document.sourceServers.map(
      ({ connectionId: id, connectionStringSecretName: secret, backupFileShare, ...server }) => ({
        ...server,
        connectionId: id ?? connectionId('source', server.name),
        connectionStringSecretName: secret ?? `${server.name}-connection-string`,
        ...(backupFileShare && { backupFileShare }),
      }),
    ),
    targetServers: document.targetServers.map((server) => ({
      ...server,
      connectionId: server.connectionId ?? connectionId('target', server.name),
    })),
    // Keys in schema order, as zod outputs them: the rendered plan is this object as JSON.
    databases: document.databases.map(({ name, source, target, mode, ...rest }) => {
      const kind = target.kind ?? kindOfServer.get(target.server)!;
      return {
        name,
        source,
        target: { server: target.server, database: target.database ?? source.database, kind },
        mode: mode ?? defaultMode(kind),
        ...rest,
      };
    }),
  };
}
