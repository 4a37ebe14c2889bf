import { cellLabel, cellNumber, logOf, splitHeadline } from '../findings';

describe('splitHeadline', () => {
  it('keeps a short one-line message whole', () => {
    expect(splitHeadline('The base image is missing.')).toEqual({
      headline: 'The base image is missing.',
      rest: ''
    });
  });
  it("cuts an engine's log to its first line and keeps the whole text for the toggle", () => {
    const log = 'podman build of churn failed (exit 125): pull access denied\nSTEP 1/9: FROM x\n' +
      'Error: initializing source docker://python:3.11-slim\n'.repeat(200);
    const { headline, rest } = splitHeadline(log);
    expect(headline).toBe('podman build of churn failed (exit 125): pull access denied');
    expect(rest).toBe(log.trim());
  });
  it('cuts a very long first line at a word, marked with an ellipsis', () => {
    const text = 'word '.repeat(200);
    const { headline, rest } = splitHeadline(text, 50);
    expect(headline.length).toBeLessThanOrEqual(52);
    expect(headline.endsWith(' …')).toBe(true);
    expect(rest).toBe(text.trim());
  });
});

describe('logOf', () => {
  it('finds the log a server error or proof carries', () => {
    expect(logOf({ output: 'STEP 1/9' })).toBe('STEP 1/9');
    expect(logOf({ log: 'Traceback' })).toBe('Traceback');
    expect(logOf({ output: '  ' })).toBe('');
    expect(logOf(null)).toBe('');
  });
});

import { firstSentence, labelParts } from '../findings';
import { orderTargets } from '../model';

describe('card text', () => {
  it('orders targets as a user decides, plugins after', () => {
    const names = orderTargets(
      ['container', 'sql', 'summary', 'model', 'report', 'audit'].map(name => ({ name }))
    ).map(t => t.name);
    expect(names).toEqual(['report', 'model', 'sql', 'container', 'audit', 'summary']);
  });
  it('keeps a description to its first sentence on the card', () => {
    expect(firstSentence('A fitted model as SQL. Proven on real engines.')).toBe(
      'A fitted model as SQL.');
    expect(firstSentence('No full stop')).toBe('No full stop');
    expect(firstSentence('Uses v1.2 of it. More.')).toBe('Uses v1.2 of it.');
  });
  it('splits a label from its flag so the flag never breaks', () => {
    expect(labelParts('Re-run even if unchanged (--no-cache)')).toEqual([
      'Re-run even if unchanged', '--no-cache']);
    expect(labelParts('Plain label')).toEqual(['Plain label', '']);
  });
});

describe('cell numbers', () => {
  it("shows JupyterLab's number (from 1, markdown counted) and the saved execution count", () => {
    const f = { kind: 'execution-error', cell: 10, cell_number: 11, execution_count: 7, message: 'x' };
    expect(cellNumber(f)).toBe(11);
    expect(cellLabel(f)).toBe('Cell 11 [7]');
    // a report cached before cell numbers: worked out from the 0-based index, no count
    expect(cellLabel({ kind: 'k', cell: 10, message: 'x' })).toBe('Cell 11');
    expect(cellLabel({ kind: 'k', cell: 0, execution_count: null, message: 'x' })).toBe('Cell 1');
    // a finding about the whole notebook has no cell
    expect(cellNumber({ kind: 'missing-package', cell: null, message: 'x' })).toBeNull();
    expect(cellLabel({ kind: 'missing-package', message: 'x' })).toBe('');
  });
});
