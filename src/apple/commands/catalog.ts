import fs from 'node:fs';
import { AppError } from '../../errors.ts';
import { appFile } from '../../runtime/files.ts';
import type { Catalog, CommandSpec } from './types.ts';

// Read once, on first use: the generated file is ours and checked by the tests against the YAML
// it comes from, so it is trusted as it stands.
let loaded: Catalog | undefined;
const catalog = (): Catalog =>
  (loaded ??= JSON.parse(fs.readFileSync(appFile('src/apple/commands/catalog.generated.json'), 'utf8')) as Catalog);

/** Every RequestType Apple's schemas define, sorted. */
export const requestTypes = (): string[] => Object.keys(catalog().commands);

export function commandSpec(requestType: string): CommandSpec {
  const spec = Object.hasOwn(catalog().commands, requestType) ? catalog().commands[requestType] : undefined;
  if (!spec) throw new AppError('unknown_request_type', `unknown MDM RequestType ${JSON.stringify(requestType)}`, 422);
  return spec;
}
