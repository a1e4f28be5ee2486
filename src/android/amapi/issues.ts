import type { z } from 'zod';

const pathText = (root: string, path: readonly PropertyKey[]) =>
  path.reduce<string>((at, p) => (typeof p === 'number' ? `${at}[${p}]` : `${at}.${String(p)}`), root);

/**
 * The first zod issue as `path: problem`, the path starting at `root` (policy.applications[0].installType),
 * so whoever wrote the JSON can find the field. zod reports stray fields at their parent; they are
 * named themselves here, as they are what must be dropped.
 */
export function describeIssue(error: z.ZodError, root: string): string {
  const issue = error.issues[0];
  if (!issue) return `${root}: invalid`;
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${pathText(root, [...issue.path, k])}: unknown field`).join('; ');
  }
  return `${pathText(root, issue.path)}: ${issue.message}`;
}
