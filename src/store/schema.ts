// Every table of the appliance, gathered for drizzle-kit and the typed database handle.
// Each domain folder owns its tables; this file only lists them.
export * from '../pki/tables.ts';
