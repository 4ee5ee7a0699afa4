/**
 * Defaults that depend on other fields (connection ids from server names, the target kind from
 * the target server, the mode from the kind). Runs only on documents that passed every check,
 * so every reference resolves.
 */
import { z } from 'zod';
import type { PlanDocument } from './document-schema';
import { defaultMode } from './rules';

export function defaultConnectionId(side: 'source' | 'target', serverName: string): string {
  return `mssql_${side}_${serverName.replace(/-/g, '_')}`;
}

export function defaultConnectionStringSecretName(serverName: string): string {
  return `${serverName}-connection-string`;
}

export function fillDerivedDefaults(document: PlanDocument, context: z.core.$RefinementCtx<PlanDocument>) {
  const kindOfServer = new Map(document.targetServers.map((server) => [server.name, server.kind]));

  const databases = document.databases.map((database, index) => {
    const kind = database.target.kind ?? kindOfServer.get(database.target.server);
    if (kind === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['databases', index, 'target', 'server'],
        message: 'unknown target server',
      });
      return z.NEVER;
    }
    // Keys in schema order, as zod outputs them: the rendered plan is this object as JSON.
    const { name, source, target, mode, ...rest } = database;
    return {
      name,
      source,
      target: { server: target.server, database: target.database ?? source.database, kind },
      mode: mode ?? defaultMode(kind),
      ...rest,
    };
  });

  return {
    ...document,
    // Sorted, so equal plans render identically whatever the order they were written in.
    tags: Object.fromEntries(Object.entries(document.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    sourceServers: document.sourceServers.map(({ connectionId, connectionStringSecretName, backupFileShare, ...server }) => ({
      ...server,
      connectionId: connectionId ?? defaultConnectionId('source', server.name),
      connectionStringSecretName: connectionStringSecretName ?? defaultConnectionStringSecretName(server.name),
      ...(backupFileShare && { backupFileShare }),
    })),
    targetServers: document.targetServers.map((server) => ({
      ...server,
      connectionId: server.connectionId ?? defaultConnectionId('target', server.name),
    })),
    databases,
  };
}
