import { z } from 'zod';
import { AppError } from '../../errors.ts';

/** Google's error body: a google.rpc.Status with the canonical code name, as JSON. */
const ErrorBody = z.object({
  error: z.object({ code: z.number().int(), message: z.string(), status: z.string().optional() }),
});

const CODE_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export interface GoogleStatus {
  /** The HTTP code Google answered with (google.rpc.Status.code in the JSON form). */
  code: number;
  /** The canonical code name (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, ...). */
  status: string;
  message: string;
}

/** Google's status from an error answer; a body that is not Google's error JSON (a proxy's page) is described by its HTTP status. */
export function googleStatus(httpStatus: number, bodyText: string): GoogleStatus {
  let parsed: z.infer<typeof ErrorBody> | null = null;
  try {
    const r = ErrorBody.safeParse(JSON.parse(bodyText));
    if (r.success) parsed = r.data;
  } catch {
    // Not JSON: described below from the HTTP status.
  }
  if (parsed) return { code: parsed.error.code, status: parsed.error.status ?? CODE_NAMES[parsed.error.code] ?? 'UNKNOWN', message: parsed.error.message };
  const snippet = bodyText.replace(/\s+/g, ' ').trim().slice(0, 200);
  return { code: httpStatus, status: CODE_NAMES[httpStatus] ?? 'UNKNOWN', message: `HTTP ${httpStatus}${snippet ? `: ${snippet}` : ''}` };
}

/**
 * How the API reports what Google said: `google_<status>` as the stable code, Google's code and
 * message in the text. Google's refusals of our requests are the admin's to fix (422, 404, 409);
 * Google's own or our credentials' trouble is an unavailable upstream (503), never a 401, which
 * would read as the API token being wrong.
 */
export function googleError(operation: string, s: GoogleStatus): AppError {
  const httpStatus =
    s.status === 'NOT_FOUND' ? 404
    : s.status === 'ALREADY_EXISTS' || s.status === 'ABORTED' ? 409
    : s.status === 'INVALID_ARGUMENT' || s.status === 'FAILED_PRECONDITION' || s.status === 'OUT_OF_RANGE' ? 422
    : s.status === 'PERMISSION_DENIED' ? 403
    : s.status === 'RESOURCE_EXHAUSTED' ? 429
    : 503;
  return new AppError(`google_${s.status.toLowerCase()}`, `Google refused ${operation}: ${s.code} ${s.status}: ${s.message}`, httpStatus);
}
