/** Pure helpers to present check results, results and history. */
import { IFinding, IOpenAction } from './api';

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

/**
 * JupyterLab's number of a finding's cell: counted from 1 over every cell, markdown too, as the
 * status bar's "Cell 11/11" (the `cell` field stays the 0-based index, for going to it).
 */
export function cellNumber(f: IFinding): number | null {
  const index = findingCell(f);
  if (index === null) {
    return null;
  }
  return typeof f.cell_number === 'number' ? f.cell_number : index + 1;
}

/** "Cell 11 [7]": the cell as a person finds it, with its saved execution count when known. */
export function cellLabel(f: IFinding): string {
  const n = cellNumber(f);
  if (n === null) {
    return '';
  }
  const count = f.execution_count;
  return `Cell ${n}` + (typeof count === 'number' ? ` [${count}]` : '');
}

/** The Open button's text and tooltip for how a deploy result opens. */
export function openLabel(a: IOpenAction): [string, string] {
  switch (a.kind) {
    case 'lab':
      return ['Open', `Open ${a.path || 'the folder'} in JupyterLab`];
    case 'served':
      return ['Open', `Open ${a.path} (read-only: it is outside JupyterLab's folder)`];
    default:
      return ['Open', `Open ${a.url} in a new tab`];
  }
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

/** An error or proof detail cut for a person: one headline, and the rest behind a toggle. */
export interface ISplitText {
  headline: string;
  rest: string;
}

const HEADLINE_MAX = 240;

/**
 * The first line of `text`, at most HEADLINE_MAX characters, and what was cut (an engine's
 * whole build log must not fill the sidebar: it goes behind a "Show the log" toggle).
 */
export function splitHeadline(text: string, max = HEADLINE_MAX): ISplitText {
  const clean = (text || '').trim();
  const nl = clean.indexOf('\n');
  let headline = nl >= 0 ? clean.slice(0, nl) : clean;
  if (headline.length > max) {
    const cut = headline.lastIndexOf(' ', max);
    headline = headline.slice(0, cut > max / 2 ? cut : max) + ' …';
  }
  const shown = headline.endsWith(' …') ? headline.slice(0, -2) : headline;
  const rest = clean.length > shown.length ? clean : '';
  return { headline, rest };
}

/** The engine's or tool's own log carried in an error's or proof's details, if any. */
export function logOf(details: Record<string, unknown> | null | undefined): string {
  if (!details) {
    return '';
  }
  for (const key of ['output', 'log', 'build_output', 'stderr']) {
    const v = details[key];
    if (typeof v === 'string' && v.trim()) {
      return v;
    }
  }
  return '';
}

/** The first sentence of a description (the card's one line; the rest shows when opened). */
export function firstSentence(text: string): string {
  const m = /^(.+?[.!?])(\s|$)/.exec((text || '').trim());
  return m ? m[1] : (text || '').trim();
}

/** A label whose flag never breaks across lines: "Re-run (--no-cache)" -> [text, flag]. */
export function labelParts(text: string): [string, string] {
  const m = /^(.*?)\s*\((--[\w-]+)\)$/.exec(text);
  return m ? [m[1], m[2]] : [text, ''];
}
