import crypto from 'node:crypto';
import { AppError } from '../../errors.ts';
import { commandSpec } from './catalog.ts';
import { commandPlistXml } from './plist-xml.ts';
import { validateParams } from './validate.ts';

export interface BuiltCommand {
  uuid: string;
  requestType: string;
  /** The command as the device receives it: an XML plist. */
  plistXml: Buffer;
  /** The same, as checked and normalised values (data as Buffers, dates as Dates). */
  dict: { CommandUUID: string; Command: { RequestType: string } & Record<string, unknown> };
}

export interface BuildOptions {
  /** CommandUUID; a fresh random UUID by default. */
  uuid?: string;
}

/**
 * An MDM command, `{ CommandUUID, Command: { RequestType, ...params } }`, with params checked
 * against Apple's schema for that RequestType before anything is queued. Value types follow the
 * schema: <data> takes a Buffer, a Uint8Array or a base64 string; <date> a Date or an ISO 8601
 * string with a time zone; <integer> a safe integer; <real> any finite number (written as <real>
 * even when whole). Undefined members are left out.
 * AppError unknown_request_type, invalid_command_params (the message starts with the key path,
 * e.g. `Command.Queries[2]: must be one of ...`).
 */
export function buildCommand(requestType: string, params: Record<string, unknown> = {}, opts: BuildOptions = {}): BuiltCommand {
  const spec = commandSpec(requestType);
  const uuid = opts.uuid ?? crypto.randomUUID().toUpperCase();
  if (typeof uuid !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(uuid)) {
    throw new AppError('invalid_command_params', 'CommandUUID: must be 1 to 128 printable ASCII characters without spaces', 422);
  }
  const { value, reals } = validateParams(spec.payloadKeys, params, { RequestType: spec.requestType });
  const dict = { CommandUUID: uuid, Command: value as BuiltCommand['dict']['Command'] };
  return { uuid, requestType: spec.requestType, plistXml: commandPlistXml(dict, reals), dict };
}
