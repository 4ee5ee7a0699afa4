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
    return {
      ...database,
      target: { ...database.target, database: database.target.database ?? database.source.database, kind },
      mode: database.mode ?? defaultMode(kind),
    };
  });

  return {
    ...document,
    sourceServers: document.sourceServers.map((server) => ({
      ...server,
      connectionId: server.connectionId ?? defaultConnectionId('source', server.name),
      connectionStringSecretName: server.connectionStringSecretName ?? defaultConnectionStringSecretName(server.name),
    })),
    targetServers: document.targetServers.map((server) => ({
      ...server,
      connectionId: server.connectionId ?? defaultConnectionId('target', server.name),
    })),
    databases,
  };
}
