/** Shapes of catalog.generated.json: Apple's command schemas, normalised by scripts/gen-apple-commands.ts. */

export const PLATFORMS = ['iOS', 'macOS', 'tvOS', 'visionOS', 'watchOS'] as const;
export type Platform = (typeof PLATFORMS)[number];

export const VALUE_TYPES = ['string', 'integer', 'real', 'boolean', 'date', 'data', 'array', 'dictionary', 'any'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

export type EnrollmentMode = 'allowed' | 'required' | 'forbidden' | 'ignored';

export interface KeyNode {
  /** The member's name; for an array's element shape, Apple's placeholder name (QueriesItem, ...). */
  key: string;
  type: ValueType;
  /** Apple leaves it out on many keys: optional then. Meaningless on an array's element shape. */
  presence: 'required' | 'optional';
  /**
   * Apple names "any key" members of a dictionary `ANY`, `ANY app identifier`, ...: such a node
   * describes every member whose name no sibling claims.
   */
  wildcard?: true;
  rangelist?: Array<string | number>;
  range?: { min?: number; max?: number };
  default?: unknown;
  /**
   * dictionary: its members. array: one node, the shape of every element, or several dictionary
   * shapes told apart by `discriminator`. string: each node names one allowed value (also listed
   * in rangelist) with its own supportedOS, as DeviceInformation's Queries do.
   */
  subkeys?: KeyNode[];
  /** For an array of several dictionary shapes: the member whose value picks the shape (Settings' `Item`). */
  discriminator?: string;
  /** Where a key differs from its command: null on a platform that lacks it; a partial entry otherwise. */
  supportedOS?: Partial<Record<Platform, KeyOsSupport | null>>;
}

export type KeyOsSupport = Partial<Omit<OsSupport, 'sharedipad'>> & { sharedipad?: Partial<SharedIPadSupport> };

export interface SharedIPadSupport {
  mode: EnrollmentMode;
  devicechannel?: boolean;
  userchannel?: boolean;
}

export interface OsSupport {
  introduced: string;
  deprecated?: string;
  removed?: string;
  /** Apple's name for the right, as the YAML spells it (null: none stated, or "Special Case"). */
  accessrights: string | null;
  /** The AccessRights bit the command needs; 0 when none. */
  accessrightsBit: number;
  devicechannel: boolean;
  userchannel: boolean;
  supervised: boolean;
  requiresdep: boolean;
  userenrollment: EnrollmentMode;
  sharedipad?: SharedIPadSupport;
}

export interface CommandSpec {
  requestType: string;
  title: string;
  /** Platforms the command exists on; a platform Apple marks "n/a" is absent. */
  supportedOS: Partial<Record<Platform, OsSupport>>;
  payloadKeys: KeyNode[];
  responseKeys: KeyNode[];
}

export interface Catalog {
  source: string;
  commands: Record<string, CommandSpec>;
}
