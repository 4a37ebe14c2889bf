/**
 * Forms generated from a target's JSON schema of options.
 *
 * string, integer, number, boolean, enum, array (one item per line) and object (one
 * `key=value` per line) become labelled native inputs; a field with `x-object-kind` becomes a
 * dropdown of the notebook's objects that fit it (from its last clean run; the server says what
 * fits what), a sample field (`x-features-of`) only the data with its model's features. Only values the
 * user set (different from the default, not empty) are returned, in the schema's order, which
 * is the order the server's `magic_line` uses.
 */
import { IObjectInfo } from './api';
import { IJSONSchemaProperty, IOptionsSchema, jsonEqual } from './magic';

export type FieldKind =
  | 'enum'
  | 'boolean'
  | 'integer'
  | 'number'
  | 'array'
  | 'object'
  | 'object-ref'
  | 'string';

export interface IField {
  name: string;
  label: string;
  spec: IJSONSchemaProperty;
  kind: FieldKind;
  required: boolean;
  positional: boolean;
  advanced: boolean;
}

/** "sample_rows" -> "Sample rows". */
export function labelOf(name: string): string {
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function kindOf(spec: IJSONSchemaProperty): FieldKind {
  if (spec['x-object-kind']) {
    return 'object-ref';
  }
  if (Array.isArray(spec.enum)) {
    return 'enum';
  }
  switch (spec.type) {
    case 'boolean':
    case 'integer':
    case 'number':
    case 'array':
    case 'object':
      return spec.type;
    default:
      return 'string';
  }
}

/** The fields of a schema: positional first, then required, then the rest by name. */
export function fieldsOf(schema: IOptionsSchema): IField[] {
  const props = schema.properties || {};
  const required = new Set(schema.required || []);
  const fields = Object.keys(props).map(name => {
    const spec = props[name];
    return {
      name,
      label: labelOf(name),
      spec,
      kind: kindOf(spec),
      required: required.has(name) || !!spec['x-required'],
      positional: !!spec['x-cli-positional'],
      advanced: !!spec['x-advanced']
    } as IField;
  });
  const rank = (f: IField) => (f.positional ? 0 : f.required ? 1 : 2);
  return fields.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

/**
 * Whether an object can be picked for a field asking for `want` (its `x-object-kind`). The
 * server says which option kinds each object fits (`fits`, from the one table of object kinds
 * in jupyter_deploy/objkinds.py); an object without it fits only its own kind.
 */
export function fitsField(o: IObjectInfo, want: string | string[]): boolean {
  const wants = Array.isArray(want) ? want : [want];
  const fits = Array.isArray(o.fits) ? (o.fits as string[]) : [o.kind];
  return wants.some(w => fits.includes(w));
}

/**
 * The objects a field offers (kept ones). A sample field names its model field in
 * `x-features-of`; when that field holds one of the objects, only the data the server lists
 * as a sample of that model (`sample_for`: its columns are the model's features) is offered.
 */
export function objectChoices(
  objects: IObjectInfo[],
  want: string | string[],
  model?: string
): IObjectInfo[] {
  let out = objects.filter(o => o.kept !== false && fitsField(o, want));
  if (model && objects.some(o => o.name === model)) {
    out = out.filter(o => Array.isArray(o.sample_for) && (o.sample_for as string[]).includes(model));
  }
  return out;
}

export function describeObject(o: IObjectInfo): string {
  const short = (o.type || '').split('.').pop();
  const shape = o.shape ? ` ${o.shape.join('×')}` : '';
  return `${o.name} (${short}${shape})`;
}

export interface IParsed {
  value: unknown;
  error?: string;
}

/** Parse what the user typed into the JSON value of the option (undefined when empty). */
export function parseValue(field: IField, raw: string | boolean): IParsed {
  if (field.kind === 'boolean') {
    return { value: !!raw };
  }
  const text = String(raw);
  if (text.trim() === '') {
    return { value: undefined };
  }
  switch (field.kind) {
    case 'integer': {
      const n = Number(text.trim());
      if (!Number.isInteger(n)) {
        return { value: undefined, error: `${field.label} must be a whole number.` };
      }
      return { value: n };
    }
    case 'number': {
      const n = Number(text.trim());
      if (!Number.isFinite(n)) {
        return { value: undefined, error: `${field.label} must be a number.` };
      }
      return { value: n };
    }
    case 'array':
      return {
        value: text
          .split('\n')
          .map(s => s.trim())
          .filter(s => s)
      };
    case 'object': {
      const out: Record<string, string> = {};
      for (const line of text.split('\n')) {
        if (!line.trim()) {
          continue;
        }
        const eq = line.indexOf('=');
        if (eq <= 0) {
          return {
            value: undefined,
            error: `${field.label}: write one key=value per line ("${line.trim()}" has no key).`
          };
        }
        out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
      }
      return { value: out };
    }
    default:
      return { value: text.trim() };
  }
}

/** How a value is shown in its input (the inverse of parseValue). */
export function formatValue(field: IField, value: unknown): string {
  if (value === undefined || value === null) {
    return '';
  }
  if (field.kind === 'array' && Array.isArray(value)) {
    return value.join('\n');
  }
  if (field.kind === 'object' && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n');
  }
  return String(value);
}

type Input = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

let formCounter = 0;

export class SchemaForm {
  readonly node: HTMLFormElement;
  readonly fields: IField[];
  private inputs = new Map<string, Input>();
  private errorsNode = new Map<string, HTMLElement>();
  private objects: IObjectInfo[];
  private prefix: string;
  onChange: (() => void) | null = null;

  constructor(
    readonly schema: IOptionsSchema,
    options: { objects?: IObjectInfo[]; initial?: Record<string, unknown>; id?: string } = {}
  ) {
    this.prefix = `jp-deploy-${options.id || 'form'}-${++formCounter}`;
    this.objects = options.objects || [];
    this.fields = fieldsOf(schema);
    this.node = document.createElement('form');
    this.node.className = 'jp-deploy-form';
    this.node.noValidate = true;
    this.node.addEventListener('submit', ev => ev.preventDefault());
    const basic = this.fields.filter(f => !f.advanced);
    const advanced = this.fields.filter(f => f.advanced);
    for (const field of basic) {
      this.node.appendChild(this.renderField(field, options.initial));
    }
    if (advanced.length) {
      const details = document.createElement('details');
      details.className = 'jp-deploy-advanced';
      const summary = document.createElement('summary');
      summary.textContent = 'More options';
      details.appendChild(summary);
      for (const field of advanced) {
        details.appendChild(this.renderField(field, options.initial));
      }
      this.node.appendChild(details);
    }
    for (const field of this.fields) {
      this.refillFollowers(field.name); // a model field rendered after its sample field
    }
  }

  inputFor(name: string): Input | undefined {
    return this.inputs.get(name);
  }

  private renderField(field: IField, initial?: Record<string, unknown>): HTMLElement {
    const row = document.createElement('div');
    row.className = `jp-deploy-field jp-deploy-field-${field.kind}`;
    row.dataset.name = field.name;
    const id = `${this.prefix}-${field.name}`;
    const helpId = id + '-help';
    const errId = id + '-error';
    const start = initial && field.name in initial ? initial[field.name] : field.spec.default;
    let input: Input;
    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = field.label + (field.required ? ' *' : '');
    if (field.kind === 'boolean') {
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = !!start;
      input = box;
      row.appendChild(box);
      row.appendChild(label);
      row.classList.add('jp-deploy-field-inline');
    } else {
      row.appendChild(label);
      if (field.kind === 'enum') {
        const select = document.createElement('select');
        for (const choice of field.spec.enum || []) {
          const opt = document.createElement('option');
          opt.value = String(choice);
          opt.textContent = String(choice);
          select.appendChild(opt);
        }
        select.value = start === undefined ? '' : String(start);
        input = select;
      } else if (field.kind === 'object-ref') {
        const select = document.createElement('select');
        input = select;
        this.fillObjectSelect(field, select, start as string | undefined);
      } else if (field.kind === 'array' || field.kind === 'object') {
        const area = document.createElement('textarea');
        area.rows = 2;
        area.placeholder =
          (field.spec['x-placeholder'] as string) ||
          (field.kind === 'array' ? 'one per line' : 'key=value, one per line');
        area.value = formatValue(field, start);
        input = area;
      } else {
        const text = document.createElement('input');
        text.type = field.kind === 'integer' || field.kind === 'number' ? 'number' : 'text';
        if (field.kind === 'integer') {
          text.step = '1';
        } else if (field.kind === 'number') {
          text.step = 'any';
        }
        if (field.spec['x-placeholder']) {
          text.placeholder = String(field.spec['x-placeholder']);
        }
        text.value = formatValue(field, start);
        input = text;
      }
      row.appendChild(input);
    }
    input.id = id;
    input.name = field.name;
    input.className = 'jp-deploy-input';
    if (field.required) {
      input.setAttribute('aria-required', 'true');
    }
    const described = [];
    if (field.spec.description) {
      const help = document.createElement('div');
      help.id = helpId;
      help.className = 'jp-deploy-help';
      help.textContent = field.spec.description;
      row.appendChild(help);
      described.push(helpId);
    }
    const err = document.createElement('div');
    err.id = errId;
    err.className = 'jp-deploy-field-error';
    err.setAttribute('role', 'alert');
    row.appendChild(err);
    described.push(errId);
    input.setAttribute('aria-describedby', described.join(' '));
    const changed = () => {
      this.showError(field.name, '');
      if (field.kind === 'object-ref' || field.kind === 'enum') {
        const sel = input as HTMLSelectElement;
        sel.title = sel.selectedOptions[0] ? sel.selectedOptions[0].textContent || '' : '';
      }
      this.refillFollowers(field.name);
      if (this.onChange) {
        this.onChange();
      }
    };
    input.addEventListener('input', changed);
    input.addEventListener('change', changed);
    this.inputs.set(field.name, input);
    this.errorsNode.set(field.name, err);
    return row;
  }

  /** The model a sample field follows (the value of its `x-features-of` field), if any. */
  private modelOf(field: IField): string | undefined {
    const of = field.spec['x-features-of'];
    const input = typeof of === 'string' ? this.inputs.get(of) : undefined;
    return input && input.value ? input.value : undefined;
  }

  private fillObjectSelect(field: IField, select: HTMLSelectElement, current?: string) {
    const want = field.spec['x-object-kind'] as string | string[];
    const keep = current !== undefined ? current : select.value;
    select.textContent = '';
    const model = this.modelOf(field);
    const matching = objectChoices(this.objects, want, model);
    const none = document.createElement('option');
    none.value = '';
    none.textContent = matching.length
      ? field.required
        ? '— choose —'
        : '— none —'
      : this.objects.length
      ? model && field.spec['x-features-of']
        ? `no data with ${model}'s features in the clean run`
        : `no ${Array.isArray(want) ? want.join('/') : want} in the clean run`
      : 'check the notebook to list its objects';
    select.appendChild(none);
    for (const o of matching) {
      const opt = document.createElement('option');
      opt.value = o.name;
      opt.textContent = describeObject(o);
      select.appendChild(opt);
    }
    if (keep && !matching.some(o => o.name === keep)) {
      const opt = document.createElement('option');
      opt.value = keep;
      opt.textContent = this.objects.some(o => o.name === keep)
        ? `${keep} (does not fit ${model || 'this option'})`
        : `${keep} (not in the last clean run)`;
      select.appendChild(opt);
    }
    if (!keep && field.required && matching.length === 1) {
      select.value = matching[0].name;
    } else {
      select.value = keep || '';
    }
    select.title = select.selectedOptions[0] ? select.selectedOptions[0].textContent || '' : '';
  }

  /** Refill the sample fields that follow the model field `name` (x-features-of). */
  private refillFollowers(name: string): void {
    for (const f of this.fields) {
      if (f.kind === 'object-ref' && f.spec['x-features-of'] === name) {
        this.fillObjectSelect(f, this.inputs.get(f.name) as HTMLSelectElement);
      }
    }
  }

  /** Refill the object dropdowns (after a check found the notebook's objects). */
  setObjects(objects: IObjectInfo[]): void {
    this.objects = objects;
    for (const field of this.fields) {
      if (field.kind === 'object-ref') {
        this.fillObjectSelect(field, this.inputs.get(field.name) as HTMLSelectElement);
      }
    }
  }

  private raw(field: IField): string | boolean {
    const input = this.inputs.get(field.name)!;
    if (field.kind === 'boolean') {
      return (input as HTMLInputElement).checked;
    }
    return input.value;
  }

  /** The options the user set, in the schema's property order; errors per field. */
  read(): { values: Record<string, unknown>; errors: Record<string, string> } {
    const values: Record<string, unknown> = {};
    const errors: Record<string, string> = {};
    const props = this.schema.properties || {};
    const byName = new Map(this.fields.map(f => [f.name, f]));
    for (const name of Object.keys(props)) {
      const field = byName.get(name)!;
      const parsed = parseValue(field, this.raw(field));
      if (parsed.error) {
        errors[name] = parsed.error;
        continue;
      }
      const value = parsed.value;
      const empty =
        value === undefined ||
        (Array.isArray(value) && value.length === 0) ||
        (field.kind === 'object' && jsonEqual(value, {}));
      if (empty) {
        if (field.required) {
          errors[name] = `${field.label} is required.`;
        }
        continue;
      }
      if ('default' in field.spec && jsonEqual(field.spec.default, value)) {
        continue;
      }
      if (field.kind === 'boolean' && !('default' in field.spec) && value === false) {
        continue;
      }
      values[name] = value;
    }
    return { values, errors };
  }

  values(): Record<string, unknown> {
    return this.read().values;
  }

  /** Show the errors next to their fields; focus the first. Returns whether the form is valid. */
  validate(): boolean {
    const { errors } = this.read();
    let first: Input | undefined;
    for (const field of this.fields) {
      const msg = errors[field.name] || '';
      this.showError(field.name, msg);
      if (msg && !first) {
        first = this.inputs.get(field.name);
      }
    }
    if (first) {
      first.focus();
    }
    return !first;
  }

  private showError(name: string, msg: string) {
    const node = this.errorsNode.get(name);
    const input = this.inputs.get(name);
    if (node) {
      node.textContent = msg;
    }
    if (input) {
      if (msg) {
        input.setAttribute('aria-invalid', 'true');
      } else {
        input.removeAttribute('aria-invalid');
      }
    }
  }
}
