/**
 * The plan's TypeScript types, derived from the zod schema, so the schema is the one place that
 * describes each field (its `.meta` descriptions reach editors through the JSON Schema, and
 * readers through docs/migration-plan.md's field table).
 */
import type { z } from 'zod';
import type { migrationPlanSchema } from './schema';

type PlanOutput = z.output<typeof migrationPlanSchema>;

// The mapped type gives the plan a name of its own, so signatures that use it show the name (TypeDoc would otherwise spell out the zod-derived shape, field by field).

/**
 * A whole migration (what moves, from where, to where, in which order) as `loadMigrationPlan` and
 * `parseMigrationPlan` return it: every default filled in, deeply frozen (changing it throws). Its
 * fields are described in `schema/migration-plan.schema.json` and `docs/migration-plan.md`.
 *
 * @displayType z.output<typeof migrationPlanSchema>
 */
export type MigrationPlan = { [K in keyof PlanOutput]: PlanOutput[K] };
/** Who hears about failures and slow migrations. */
export type NotificationSettings = MigrationPlan['notifications'];
/** A SQL Server that databases move from. */
export type SourceServer = MigrationPlan['sourceServers'][number];
/** How DMS logs in to a SQL Server. */
export type SqlAuthentication = SourceServer['authentication'];
/** An SMB share with full and log backups. */
export type BackupFileShare = NonNullable<SourceServer['backupFileShare']>;
/** An Azure SQL Managed Instance, logical server or SQL VM that databases move to. */
export type TargetServer = MigrationPlan['targetServers'][number];
/** Where a database lands in Azure. */
export type TargetKind = TargetServer['kind'];
/** Storage account where DMS stages backups for SqlMi and SqlVm targets. */
export type BackupStorage = NonNullable<MigrationPlan['backupStorage']>;
/** One database to move. */
export type DatabaseMigration = MigrationPlan['databases'][number];
/** Where a database comes from. */
export type DatabaseSource = DatabaseMigration['source'];
/** Where a database goes, with the target kind filled in. */
export type DatabaseTarget = DatabaseMigration['target'];
/** `online` keeps the source live and cuts over at the end; `offline` copies once. */
export type MigrationMode = DatabaseMigration['mode'];
/** What "migrated correctly" means for one database. */
export type ValidationSettings = DatabaseMigration['validation'];
