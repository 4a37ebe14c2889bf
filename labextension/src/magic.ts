/**
 * The `%deploy` line equivalent to a click: the same algorithm as
 * `jupyter_deploy.targets.base.magic_line` (Python), so the line shown while the user fills a
 * form is the line the server reports for the job.
 */

export interface IJSONSchemaProperty {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  items?: { type?: string };
  additionalProperties?: unknown;
  'x-cli-positional'?: boolean;
  'x-object-kind'?: string | string[];
  'x-required'?: boolean;
  'x-advanced'?: boolean;
  'x-placeholder'?: string;
  'x-widget'?: string;
  'x-flag'?: string;
  'x-features-of'?: string;
  [key: string]: unknown;
}

export interface IOptionsSchema {
  title?: string;
  type?: string;
  properties?: { [name: string]: IJSONSchemaProperty };
  required?: string[];
  [key: string]: unknown;
}

const UNSAFE = /[^\w@%+=:,./-]/;

/** Python's shlex.quote. */
export function shellQuote(s: string): string {
  if (!s) {
    return "''";
  }
  if (!UNSAFE.test(s)) {
    return s;
  }
  return "'" + s.replace(/'/g, "'\"'\"'") + "'";
}

/** Python's str() of a JSON value, as the Python side prints it. */
export function pyStr(value: unknown, type?: string): string {
  if (value === null || value === undefined) {
    return 'None';
  }
  if (typeof value === 'boolean') {
    return value ? 'True' : 'False';
  }
  if (typeof value === 'number') {
    if (type === 'number' && Number.isInteger(value)) {
      return value.toFixed(1);
    }
    return String(value);
  }
  return String(value);
}

/** Deep equality of JSON values (Python's == on the decoded values). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) {
    return true;
  }
  if (typeof a !== typeof b || a === null || b === null) {
    return false;
  }
  if (Array.isArray(a)) {
    return (
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, i) => jsonEqual(item, (b as unknown[])[i]))
    );
  }
  if (typeof a === 'object') {
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
    return (
      ka.length === kb.length &&
      ka.every(k =>
        jsonEqual(
          (a as Record<string, unknown>)[k],
          (b as Record<string, unknown>)[k]
        )
      )
    );
  }
  return false;
}

function isEmpty(value: unknown): boolean {
  return (
    value === null ||
    value === undefined ||
    value === '' ||
    (Array.isArray(value) && value.length === 0)
  );
}

/** The `%deploy` line that does the same as deploying `target` with `options`. */
export function magicLine(
  target: string,
  options: Record<string, unknown>,
  schema: IOptionsSchema,
  to?: string | null,
  force = false
): string {
  const parts = ['%deploy', target];
  const props = schema.properties || {};
  for (const [key, value] of Object.entries(options)) {
    const spec = props[key] || {};
    if (spec['x-cli-positional'] && value !== null && value !== undefined && value !== '') {
      parts.push(shellQuote(pyStr(value, spec.type)));
    }
  }
  for (const [key, value] of Object.entries(options)) {
    const spec = props[key] || {};
    if (spec['x-cli-positional'] || isEmpty(value)) {
      continue;
    }
    if ('default' in spec && jsonEqual(spec.default, value)) {
      continue;
    }
    // A trait may name its flag (ContainerTarget.build_image is --build): x-flag, as in Python.
    const flag = '--' + ((spec['x-flag'] as string | undefined) || key.replace(/_/g, '-'));
    const kind = spec.type;
    if (kind === 'boolean') {
      if (value) {
        parts.push(flag);
      } else if (spec.default === true) {
        parts.push('--no-' + flag.slice(2)); // BooleanOptionalAction's --no-FLAG
      }
    } else if (kind === 'array') {
      for (const item of value as unknown[]) {
        parts.push(flag, shellQuote(pyStr(item)));
      }
    } else if (kind === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        parts.push(flag, shellQuote(`${k}=${pyStr(v)}`));
      }
    } else {
      parts.push(flag, shellQuote(pyStr(value, kind)));
    }
  }
  if (to) {
    parts.push('--to', shellQuote(to));
  }
  let line = parts.join(' ');
  if (force) {
    line += ' --force';
  }
  return line;
}

/** The `%deploy check` line (without the server's schema: runs and --no-cache only). */
export function checkLine(runs = 1, noCache = false): string {
  return (
    '%deploy check' + (runs && runs !== 1 ? ` --runs ${runs}` : '') + (noCache ? ' --no-cache' : '')
  );
}

/**
 * The `%deploy check` line from the check's schema (the server's `check`), with the options in
 * the schema's order, as Python's `options.check_line` writes it.
 */
export function checkLineFor(schema: IOptionsSchema, values: Record<string, unknown>): string {
  const ordered: Record<string, unknown> = {};
  for (const name of Object.keys(schema.properties || {})) {
    if (name in values) {
      ordered[name] = values[name];
    }
  }
  return magicLine('check', ordered, schema);
}

const LOAD_EXT = /^\s*%(re)?load_ext\s+jupyter_deploy\b/m;

/**
 * The source of the cell that *Insert* adds: the line, preceded by `%load_ext jupyter_deploy`
 * when no cell of the notebook loads the extension (a notebook must load it itself to run the
 * line on a clean re-run; the kernel having loaded it by hand once is not enough).
 */
export function cellSourceFor(line: string, notebookSources: string[]): string {
  if (!line.startsWith('%deploy') || notebookSources.some(s => LOAD_EXT.test(s))) {
    return line;
  }
  return '%load_ext jupyter_deploy\n' + line;
}
