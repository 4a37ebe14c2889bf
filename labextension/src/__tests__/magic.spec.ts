import { checkLine, jsonEqual, magicLine, pyStr, shellQuote } from '../magic';
// The same cases are checked against the Python builder in tests/server/test_magic_parity.py.
import cases from './magic_cases.json';

describe('magicLine', () => {
  it.each(cases.cases.map(c => [c.expected, c]))('gives %s', (_expected, c: any) => {
    expect(magicLine(c.target, c.options, cases.schema as any, c.to)).toBe(c.expected);
  });

  it('appends --force', () => {
    expect(magicLine('model', { variable: 'clf' }, cases.schema as any, null, true)).toBe(
      '%deploy model clf --force'
    );
  });

  it('builds the check line', () => {
    expect(checkLine()).toBe('%deploy check');
    expect(checkLine(2)).toBe('%deploy check --runs 2');
    expect(checkLine(1, true)).toBe('%deploy check --no-cache');
  });
});

describe('shellQuote', () => {
  it('quotes like shlex.quote', () => {
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('abc-1.2/x@y%z+=:,')).toBe('abc-1.2/x@y%z+=:,');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\"'\"'s'");
    expect(shellQuote('é')).toBe("'é'");
  });
});

describe('pyStr and jsonEqual', () => {
  it('prints like Python', () => {
    expect(pyStr(true)).toBe('True');
    expect(pyStr(2, 'number')).toBe('2.0');
    expect(pyStr(2, 'integer')).toBe('2');
    expect(pyStr(null)).toBe('None');
  });
  it('compares JSON values deeply', () => {
    expect(jsonEqual({ a: [1, 2] }, { a: [1, 2] })).toBe(true);
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
  });
});
