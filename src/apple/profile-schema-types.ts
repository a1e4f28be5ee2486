/** Shapes of profile-schemas.generated.ts: Apple's profile payload schemas, cut to what validation needs. */
export const APPLE_OSES = ['iOS', 'macOS', 'tvOS', 'visionOS', 'watchOS'] as const;
export type AppleOs = (typeof APPLE_OSES)[number];

export const PAYLOAD_VALUE_TYPES = ['string', 'integer', 'real', 'boolean', 'date', 'data', 'array', 'dictionary', 'any'] as const;
export type PayloadValueType = (typeof PAYLOAD_VALUE_TYPES)[number];

export interface PayloadKey {
  key: string;
  type: PayloadValueType;
  /** Platforms whose entry says `introduced: n/a`: the key means nothing there. */
  unsupported?: AppleOs[];
  /** Platforms that honour the key on supervised devices only. */
  supervised?: AppleOs[];
  range?: { min?: number; max?: number };
  rangelist?: Array<string | number>;
  /** Array items (one entry) or dictionary keys (`ANY` for free-form keys). */
  subkeys?: PayloadKey[];
}

export interface PayloadSchema {
  payloadtype: string;
  unsupported?: AppleOs[];
  supervised?: AppleOs[];
  keys: PayloadKey[];
}
