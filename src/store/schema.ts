// Every table of the appliance, gathered for drizzle-kit and the typed database handle.
// Each domain folder owns its tables; this file only lists them.
export * from '../pki/tables.ts';
export * from '../push/tables.ts';
export * from '../auth/tables.ts';
export * from '../apple/tables.ts';
export * from '../admins/tables.ts';
export * from '../android/tables.ts';
export * from '../webhooks/tables.ts';
export * from '../audit/tables.ts';
export * from '../policy/tables.ts';
export * from '../compliance/tables.ts';
export * from '../apps/tables.ts';
