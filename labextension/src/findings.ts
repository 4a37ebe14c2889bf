/** Pure helpers to present check results, results and history. */
import { IFinding } from './api';

export const VERDICT_TEXT: Record<string, string> = {
  repeatable: 'Repeatable',
  'repeatable-with-warnings': 'Repeatable, with warnings',
  'not-repeatable': 'Not repeatable'
};

export function verdictClass(verdict: string): string {
  if (verdict === 'repeatable') {
    return 'jp-deploy-ok';
  }
  if (verdict === 'repeatable-with-warnings') {
    return 'jp-deploy-warn';
  }
  return 'jp-deploy-bad';
}

/** The cell index a finding points at, or null. */
export function findingCell(f: IFinding): number | null {
  return typeof f.cell === 'number' && f.cell >= 0 ? f.cell : null;
}

/** Whether a finding has a saved-vs-clean diff to open. */
export function hasDiff(f: IFinding): boolean {
  return (
    (f.kind === 'output-diff' || f.kind === 'nondeterministic') &&
    (!!f.diff || f.saved !== undefined || f.clean !== undefined || f.run1 !== undefined)
  );
}

/** Progress as a fraction 0..1, or null when the total is unknown. */
export function fraction(done: number, total: number): number | null {
  if (!total || total <= 0) {
    return null;
  }
  return Math.max(0, Math.min(1, done / total));
}

/** "2026-11-27T10:00:00Z" -> a short local time. */
export function shortTime(iso: string): string {
  const d = new Date(iso);
  if (isNaN(d.getTime())) {
    return iso;
  }
  return d.toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit'
  });
}

/** Whether a destination or URL is something the browser can open. */
export function isLink(value: unknown): value is string {
  return typeof value === 'string' && /^(https?:)\/\//i.test(value);
}
