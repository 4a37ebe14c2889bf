import { fieldsOf, fitsField, labelOf, objectChoices, parseValue, SchemaForm } from '../form';
import { IOptionsSchema } from '../magic';

const schema: IOptionsSchema = {
  type: 'object',
  properties: {
    variable: {
      type: 'string',
      description: 'The model to deploy.',
      'x-cli-positional': true,
      'x-object-kind': 'estimator'
    },
    sample: { type: 'string', 'x-object-kind': 'dataframe', description: 'Sample rows.' },
    name: { type: 'string', description: 'Registry name.' },
    dialect: { type: 'string', enum: ['duckdb', 'postgres'], default: 'duckdb' },
    overwrite: { type: 'boolean', default: false },
    rows: { type: 'integer', default: 5 },
    tolerance: { type: 'number', default: 0.000001 },
    tags: { type: 'array', items: { type: 'string' } },
    params: { type: 'object', 'x-advanced': true }
  },
  required: ['variable', 'name']
};

const objects = [
  { name: 'clf', kind: 'estimator', type: 'sklearn.linear_model.LogisticRegression' },
  { name: 'X_test', kind: 'dataframe', type: 'pandas.DataFrame', shape: [20, 3] },
  { name: 'y', kind: 'series', type: 'pandas.Series', shape: [100] },
  { name: 'arr', kind: 'array', type: 'numpy.ndarray', shape: [4], kept: false }
];

function set(form: SchemaForm, name: string, value: string | boolean) {
  const input = form.inputFor(name)! as HTMLInputElement;
  if (typeof value === 'boolean') {
    input.checked = value;
  } else {
    input.value = value;
  }
  input.dispatchEvent(new Event('input'));
}

describe('fieldsOf', () => {
  it('orders positional, then required, then by name, with kinds', () => {
    const fields = fieldsOf(schema);
    expect(fields.map(f => f.name)).toEqual([
      'variable',
      'name',
      'dialect',
      'overwrite',
      'params',
      'rows',
      'sample',
      'tags',
      'tolerance'
    ]);
    const kinds = Object.fromEntries(fields.map(f => [f.name, f.kind]));
    expect(kinds).toMatchObject({
      variable: 'object-ref',
      sample: 'object-ref',
      dialect: 'enum',
      overwrite: 'boolean',
      rows: 'integer',
      tolerance: 'number',
      tags: 'array',
      params: 'object',
      name: 'string'
    });
    expect(labelOf('sample_rows')).toBe('Sample rows');
  });
});

describe('parseValue', () => {
  const f = (kind: any) => ({ name: 'x', label: 'X', spec: {}, kind, required: false,
    positional: false, advanced: false });
  it('parses each kind', () => {
    expect(parseValue(f('integer'), '12').value).toBe(12);
    expect(parseValue(f('integer'), '1.5').error).toMatch(/whole number/);
    expect(parseValue(f('number'), '0.25').value).toBe(0.25);
    expect(parseValue(f('number'), 'abc').error).toMatch(/must be a number/);
    expect(parseValue(f('array'), 'a\n\n b \n').value).toEqual(['a', 'b']);
    expect(parseValue(f('object'), 'a=1\nb = x=y').value).toEqual({ a: '1', b: 'x=y' });
    expect(parseValue(f('object'), 'novalue').error).toMatch(/key=value/);
    expect(parseValue(f('string'), '  ').value).toBeUndefined();
    expect(parseValue(f('boolean'), true).value).toBe(true);
  });
});

// What the server's objects endpoint answers for a notebook with X_train, X_test, y_test, a frame
// holding the target column, a 2-D array and a fitted Pipeline (tests/server/test_rest.py checks
// the server side of the same notebook): the kinds and what fits what come from the server.
const churnObjects = [
  { name: 'df', kind: 'dataframe', type: 'pandas.DataFrame', shape: [8, 3],
    columns: ['tenure', 'spend', 'churn'], fits: ['data', 'sample', 'any', 'dataframe'],
    sample_for: ['custom'] },
  { name: 'X_train', kind: 'dataframe', type: 'pandas.DataFrame', shape: [6, 2],
    fits: ['data', 'sample', 'any', 'dataframe'], sample_for: ['pipe', 'custom'] },
  { name: 'X_test', kind: 'dataframe', type: 'pandas.DataFrame', shape: [2, 2],
    fits: ['data', 'sample', 'any', 'dataframe'], sample_for: ['pipe', 'custom'] },
  { name: 'y_test', kind: 'series', type: 'pandas.Series', shape: [2],
    fits: ['data', 'any', 'series'] },
  { name: 'X_arr', kind: 'array', type: 'numpy.ndarray', shape: [2, 2],
    fits: ['data', 'sample', 'any', 'array'], sample_for: ['custom'] },
  { name: 'pipe', kind: 'estimator', type: 'sklearn.pipeline.Pipeline', fitted: true,
    feature_names_in_: ['tenure', 'spend'], fits: ['estimator', 'model', 'any'] },
  { name: 'custom', kind: 'model', type: '__main__.Custom', fits: ['estimator', 'model', 'any'] }
];

const modelSchema: IOptionsSchema = {
  type: 'object',
  properties: {
    var: { type: 'string', 'x-cli-positional': true, 'x-object-kind': 'estimator' },
    sample: { type: 'string', 'x-object-kind': 'sample', 'x-features-of': 'var' }
  },
  required: ['var']
};

function offered(select: HTMLSelectElement): string[] {
  return Array.from(select.options).map(o => o.value).filter(v => v);
}

describe('fitsField and objectChoices', () => {
  it('follow what the server says fits, with no word list of their own', () => {
    const pipe = churnObjects[5];
    expect(fitsField(pipe, 'estimator')).toBe(true);
    expect(fitsField(churnObjects[6], 'estimator')).toBe(true); // a "model" kind: the server said so
    expect(fitsField(churnObjects[3], 'sample')).toBe(false); // labels are no sample
    expect(fitsField(churnObjects[3], ['sample', 'series'])).toBe(true);
    // an object the server did not annotate fits only its own kind
    expect(fitsField({ name: 'm', kind: 'model', type: 'a.M' }, 'estimator')).toBe(false);
    expect(fitsField({ name: 'm', kind: 'model', type: 'a.M' }, 'model')).toBe(true);
    expect(objectChoices(churnObjects, 'sample').map(o => o.name)).toEqual([
      'df', 'X_train', 'X_test', 'X_arr']);
    expect(objectChoices(churnObjects, 'sample', 'pipe').map(o => o.name)).toEqual([
      'X_train', 'X_test']);
    // a name that is not among the objects (typed, or from an older run) filters nothing
    expect(objectChoices(churnObjects, 'sample', 'gone').length).toBe(4);
  });
});

describe('the sample picker', () => {
  it('offers only the frames and 2-D arrays with the chosen model\'s features', () => {
    const form = new SchemaForm(modelSchema, { objects: churnObjects });
    const variable = form.inputFor('var') as HTMLSelectElement;
    const sample = form.inputFor('sample') as HTMLSelectElement;
    expect(offered(variable)).toEqual(['pipe', 'custom']);
    // no model chosen yet: any 2-D data, never the labels
    expect(variable.value).toBe('');
    expect(offered(sample)).toEqual(['df', 'X_train', 'X_test', 'X_arr']);
    set(form, 'var', 'pipe');
    expect(offered(sample)).toEqual(['X_train', 'X_test']);
    set(form, 'sample', 'X_test');
    set(form, 'var', 'custom'); // says no features: any 2-D data
    expect(offered(sample)).toEqual(['df', 'X_train', 'X_test', 'X_arr']);
    expect(sample.value).toBe('X_test');
    expect(form.values()).toEqual({ var: 'custom', sample: 'X_test' });
  });

  it('keeps a choice that no longer fits, and says why', () => {
    const form = new SchemaForm(modelSchema, {
      objects: churnObjects, initial: { var: 'pipe', sample: 'X_arr' } });
    const sample = form.inputFor('sample') as HTMLSelectElement;
    expect(sample.value).toBe('X_arr');
    expect(sample.selectedOptions[0].textContent).toBe('X_arr (does not fit pipe)');
    expect(sample.title).toBe('X_arr (does not fit pipe)'); // the whole text, should it be cut
  });
});

describe('SchemaForm', () => {
  it('renders labelled inputs of the right type', () => {
    const form = new SchemaForm(schema, { objects, id: 't' });
    document.body.appendChild(form.node);
    for (const field of form.fields) {
      const input = form.inputFor(field.name)!;
      const label = form.node.querySelector(`label[for="${input.id}"]`);
      expect(label).not.toBeNull();
    }
    expect(form.inputFor('dialect')!.tagName).toBe('SELECT');
    expect((form.inputFor('overwrite') as HTMLInputElement).type).toBe('checkbox');
    expect((form.inputFor('rows') as HTMLInputElement).type).toBe('number');
    expect(form.inputFor('tags')!.tagName).toBe('TEXTAREA');
    expect(form.node.querySelector('details.jp-deploy-advanced [name="params"]')).not.toBeNull();
    expect(form.inputFor('variable')!.getAttribute('aria-required')).toBe('true');
    const help = form.inputFor('variable')!.getAttribute('aria-describedby')!;
    expect(document.getElementById(help.split(' ')[0])!.textContent).toBe('The model to deploy.');
    form.node.remove();
  });

  it('offers the objects of the matching kind, and preselects a single required match', () => {
    const form = new SchemaForm(schema, { objects });
    const variable = form.inputFor('variable') as HTMLSelectElement;
    expect(Array.from(variable.options).map(o => o.value)).toEqual(['', 'clf']);
    expect(variable.value).toBe('clf');
    const sample = form.inputFor('sample') as HTMLSelectElement;
    expect(Array.from(sample.options).map(o => o.value)).toEqual(['', 'X_test']);
    expect(sample.options[1].textContent).toBe('X_test (DataFrame 20×3)');
    expect(sample.value).toBe('');
  });

  it('says to check the notebook when there are no objects, and refills after', () => {
    const form = new SchemaForm(schema, {});
    const variable = form.inputFor('variable') as HTMLSelectElement;
    expect(variable.options[0].textContent).toMatch(/check the notebook/);
    form.setObjects(objects);
    expect(Array.from(variable.options).map(o => o.value)).toEqual(['', 'clf']);
  });

  it('returns only what the user set, in schema order, and validates', () => {
    const form = new SchemaForm(schema, { objects });
    let changes = 0;
    form.onChange = () => changes++;
    expect(form.validate()).toBe(false); // name is required
    expect(form.node.textContent).toContain('Name is required.');
    expect(form.inputFor('name')!.getAttribute('aria-invalid')).toBe('true');
    set(form, 'name', 'churn');
    expect(form.inputFor('name')!.getAttribute('aria-invalid')).toBeNull();
    set(form, 'rows', '5'); // the default: left out
    set(form, 'tolerance', '0.5');
    set(form, 'overwrite', true);
    set(form, 'tags', 'a\nb');
    set(form, 'params', 'k=v');
    set(form, 'sample', 'X_test');
    expect(changes).toBeGreaterThan(0);
    expect(form.validate()).toBe(true);
    const values = form.values();
    expect(values).toEqual({
      variable: 'clf',
      sample: 'X_test',
      name: 'churn',
      overwrite: true,
      tolerance: 0.5,
      tags: ['a', 'b'],
      params: { k: 'v' }
    });
    expect(Object.keys(values)).toEqual(Object.keys(values).slice().sort((a, b) =>
      Object.keys(schema.properties!).indexOf(a) - Object.keys(schema.properties!).indexOf(b)));
  });

  it('reports a bad number next to its field', () => {
    const form = new SchemaForm(schema, { objects });
    set(form, 'name', 'x');
    set(form, 'params', 'oops');
    expect(form.validate()).toBe(false);
    expect(form.node.textContent).toContain('key=value');
  });
});
