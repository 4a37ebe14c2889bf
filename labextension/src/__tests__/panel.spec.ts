import { DeployAPI, Transport } from '../api';
import { DeployModel } from '../model';
import { DeployPanel, handlerNote, IPanelHost } from '../panel';
// the server's real check schema (scripts/make_magic_cases.py writes it from DeployConfig)
import generated from './magic_cases_targets.json';

const schema = {
  properties: {
    variable: { type: 'string', 'x-cli-positional': true, 'x-object-kind': 'estimator' },
    name: { type: 'string' }
  },
  required: ['variable']
};

function transport(posted: any[] = [], check?: unknown): Transport {
  return async (path, init) => {
    if (init.method === 'POST' && init.body) {
      posted.push(JSON.parse(String(init.body)));
    }
    const p = path.replace('jupyter-deploy/', '').split('?')[0];
    const body = (b: unknown, status = 200) => ({ status, text: async () => JSON.stringify(b) });
    if (p === 'version') return body({ version: '1' });
    if (p === 'targets') {
      return body({ targets: [{ name: 'model', description: 'A model', schema, needs_object: true,
        default_backend: 'registry' }], backends: [], broken: [], check });
    }
    if (p === 'history') return body({ records: [] });
    if (p === 'objects') {
      return body({ objects: [{ name: 'clf', kind: 'estimator', type: 'a.B' }] });
    }
    if (p === 'jobs' && init.method === 'POST') {
      return body({ id: 'j1', action: 'check', path: 'nb.ipynb', target: null, state: 'done',
        progress: { stage: 'done', done: 2, total: 2, message: '' }, error: null,
        magic: '%deploy check',
        result: { verdict: 'not-repeatable', reasons: ['cell 1 differs'], findings: [
          { kind: 'output-diff', cell: 1, cell_number: 2, execution_count: 5, severity: 'error',
            message: 'cell 2: output differs', hint: 'seed it', saved: 'a', clean: 'b',
            diff: '-a\n+b' }] } }, 202);
    }
    return body({ code: 'x', message: 'x', hint: '' }, 404);
  };
}

describe('DeployPanel', () => {
  it('renders targets, verdict and findings, and wires the host', async () => {
    const host: IPanelHost = {
      save: jest.fn(async () => undefined),
      insertLine: jest.fn(),
      gotoCell: jest.fn(),
      openDiff: jest.fn(),
      confirm: jest.fn(async () => true),
      open: jest.fn()
    };
    const model = new DeployModel({ api: new DeployAPI(transport()), sleep: async () => undefined });
    const panel = new DeployPanel(model, host);
    document.body.appendChild(panel.node);
    await model.init();
    await model.setNotebook('nb.ipynb');
    const q = (sel: string) => panel.node.querySelector(sel) as HTMLElement;
    expect(q('.jp-deploy-notebook').textContent).toBe('nb.ipynb');
    expect(q('.jp-deploy-notebook').title).toBe('nb.ipynb');
    // the model card's live magic line uses the only estimator
    expect(q('.jp-deploy-card .jp-deploy-magic-line').textContent).toBe('%deploy model clf');
    (q('.jp-deploy-card [name="name"]') as HTMLInputElement).value = 'my model';
    q('.jp-deploy-card [name="name"]').dispatchEvent(new Event('input'));
    expect(q('.jp-deploy-card .jp-deploy-magic-line').textContent).toBe(
      "%deploy model clf --name 'my model'");
    q('.jp-deploy-card .jp-deploy-insert').click();
    expect(host.insertLine).toHaveBeenCalledWith("%deploy model clf --name 'my model'");
    // the check's line follows its options
    const noCache = q('#jp-deploy-no-cache') as HTMLInputElement;
    expect(panel.node.querySelector('label[for="jp-deploy-no-cache"]')).not.toBeNull();
    noCache.checked = true;
    noCache.dispatchEvent(new Event('change'));
    expect(q('.jp-deploy-check .jp-deploy-magic-line').textContent).toBe(
      '%deploy check --no-cache');
    noCache.checked = false;
    noCache.dispatchEvent(new Event('change'));
    expect(q('.jp-deploy-check .jp-deploy-magic-line').textContent).toBe('%deploy check');
    // check
    q('.jp-deploy-run-check').click();
    await new Promise(r => setTimeout(r, 0));
    await new Promise(r => setTimeout(r, 0));
    expect(host.save).toHaveBeenCalled();
    expect(q('.jp-deploy-verdict').textContent).toBe('Not repeatable');
    // the cell as JupyterLab numbers it, with its saved count; going to it uses the index
    expect(q('.jp-deploy-finding-link .jp-deploy-cell-badge').textContent).toBe('Cell 2 [5]');
    expect(q('.jp-deploy-finding-link').getAttribute('aria-label')).toBe(
      'Go to Cell 2 [5]: cell 2: output differs');
    q('.jp-deploy-finding-link').click();
    expect(host.gotoCell).toHaveBeenCalledWith(1);
    q('.jp-deploy-show-diff').click();
    expect(host.openDiff).toHaveBeenCalled();
    // every button is a real, labelled button
    for (const b of Array.from(panel.node.querySelectorAll('button'))) {
      expect(b.type).toBe('button');
      expect((b.textContent || b.getAttribute('aria-label') || '').trim()).not.toBe('');
    }
    panel.dispose();
  });
});

describe('DeployPanel state per notebook', () => {
  const tick = () => new Promise(r => setTimeout(r, 0));

  async function open(posted: any[] = [], confirmAnswer = true) {
    const host: IPanelHost = {
      save: jest.fn(async () => undefined),
      insertLine: jest.fn(),
      gotoCell: jest.fn(),
      openDiff: jest.fn(),
      confirm: jest.fn(async () => confirmAnswer),
      open: jest.fn()
    };
    const model = new DeployModel({ api: new DeployAPI(transport(posted)), sleep: async () => undefined });
    const panel = new DeployPanel(model, host);
    document.body.appendChild(panel.node);
    await model.init();
    await model.setNotebook('a.ipynb');
    const q = (sel: string) => panel.node.querySelector(sel) as HTMLInputElement;
    return { host, model, panel, q };
  }

  it("keeps each notebook's form values to itself and restores them", async () => {
    const { model, panel, q } = await open();
    q('.jp-deploy-card [name="name"]').value = 'churn';
    q('.jp-deploy-card [name="name"]').dispatchEvent(new Event('input'));
    q('.jp-deploy-card input[id$="-to"]').value = '/srv/registry';
    q('.jp-deploy-card input[id$="-to"]').dispatchEvent(new Event('input'));
    await model.setNotebook('b.ipynb');
    expect(q('.jp-deploy-card [name="name"]').value).toBe('');
    expect(q('.jp-deploy-card input[id$="-to"]').value).toBe('');
    expect(q('.jp-deploy-card .jp-deploy-magic-line').textContent).toBe('%deploy model clf');
    await model.setNotebook('a.ipynb');
    expect(q('.jp-deploy-card [name="name"]').value).toBe('churn');
    expect(q('.jp-deploy-card input[id$="-to"]').value).toBe('/srv/registry');
    expect(q('.jp-deploy-card .jp-deploy-magic-line').textContent).toBe(
      '%deploy model clf --name churn --to /srv/registry');
    panel.dispose();
  });

  it('never keeps --force: it is confirmed at each deploy and unticked at once', async () => {
    const posted: any[] = [];
    const { host, model, panel, q } = await open(posted, false);
    const force = q('.jp-deploy-card input[id$="-force"]');
    force.checked = true;
    force.dispatchEvent(new Event('change'));
    expect(q('.jp-deploy-card .jp-deploy-magic-line').textContent).toBe('%deploy model clf --force');
    // another notebook never sees it ticked
    await model.setNotebook('b.ipynb');
    expect(q('.jp-deploy-card input[id$="-force"]').checked).toBe(false);
    await model.setNotebook('a.ipynb');
    expect(q('.jp-deploy-card input[id$="-force"]').checked).toBe(false);
    // ticked again and deployed: the user is asked; "no" sends nothing
    q('.jp-deploy-card input[id$="-force"]').checked = true;
    (panel.node.querySelector('.jp-deploy-run-deploy') as HTMLButtonElement).click();
    await tick();
    await tick();
    expect(host.confirm).toHaveBeenCalledTimes(1);
    expect(posted.filter(b => b.action === 'deploy')).toHaveLength(0);
    expect(q('.jp-deploy-card input[id$="-force"]').checked).toBe(false);
    // without the tick, no question and no force
    (host.confirm as jest.Mock).mockImplementation(async () => true);
    (panel.node.querySelector('.jp-deploy-run-deploy') as HTMLButtonElement).click();
    await tick();
    await tick();
    expect(host.confirm).toHaveBeenCalledTimes(1);
    const deploys = posted.filter(b => b.action === 'deploy');
    expect(deploys).toHaveLength(1);
    expect(deploys[0].force).toBe(false);
    panel.dispose();
  });
});

describe('DeployPanel errors', () => {
  it('shows a failed deploy as one line and a hint, its log behind a toggle', async () => {
    const log = 'STEP 1/9: FROM python:3.11-slim\n' + 'Error: pull access denied\n'.repeat(300);
    const failing: Transport = async (path, init) => {
      const p = path.replace('jupyter-deploy/', '').split('?')[0];
      const body = (b: unknown, status = 200) => ({ status, text: async () => JSON.stringify(b) });
      if (p === 'version') return body({ version: '1' });
      if (p === 'targets') {
        return body({ targets: [{ name: 'model', description: 'A model', schema,
          needs_object: true, default_backend: 'registry' }], backends: [], broken: [] });
      }
      if (p === 'history') return body({ records: [] });
      if (p === 'objects') return body({ objects: [{ name: 'clf', kind: 'estimator', type: 'a.B' }] });
      if (p === 'jobs' && init.method === 'POST') {
        return body({ id: 'j2', action: 'deploy', path: 'a.ipynb', target: 'model', state: 'failed',
          progress: { stage: 'failed', done: 0, total: 0, message: '' }, magic: '%deploy model clf',
          result: null,
          error: { code: 'build-failed', message: 'podman build of churn failed (exit 125): ' +
            "the base image 'python:3.11-slim' cannot be pulled\n" + log,
            hint: 'Build a base image with scripts/base-image.', details: { output: log } } }, 202);
      }
      return body({ code: 'x', message: 'x', hint: '' }, 404);
    };
    const host: IPanelHost = {
      save: jest.fn(async () => undefined), insertLine: jest.fn(), gotoCell: jest.fn(),
      openDiff: jest.fn(), confirm: jest.fn(async () => true), open: jest.fn()
    };
    const model = new DeployModel({ api: new DeployAPI(failing), sleep: async () => undefined });
    const panel = new DeployPanel(model, host);
    document.body.appendChild(panel.node);
    await model.init();
    await model.setNotebook('a.ipynb');
    (panel.node.querySelector('.jp-deploy-run-deploy') as HTMLButtonElement).click();
    for (let i = 0; i < 4; i++) {
      await new Promise(r => setTimeout(r, 0));
    }
    const box = panel.node.querySelector('.jp-deploy-error') as HTMLElement;
    expect(box).not.toBeNull();
    expect(box.querySelector('.jp-deploy-error-message')!.textContent).toBe(
      "podman build of churn failed (exit 125): the base image 'python:3.11-slim' cannot be pulled");
    expect(box.querySelector('.jp-deploy-error-hint')!.textContent).toBe(
      'Build a base image with scripts/base-image.');
    const toggle = box.querySelector('details.jp-deploy-log') as HTMLDetailsElement;
    expect(toggle.open).toBe(false);
    expect(toggle.querySelector('summary')!.textContent).toBe('Show the log');
    expect(toggle.querySelector('pre')!.textContent).toContain('Error: pull access denied');
    panel.dispose();
  });

  it('builds the check options from the server schema: form, line and job agree', async () => {
    const posted: any[] = [];
    const host: IPanelHost = {
      save: jest.fn(async () => undefined),
      insertLine: jest.fn(),
      gotoCell: jest.fn(),
      openDiff: jest.fn(),
      confirm: jest.fn(async () => true),
      open: jest.fn()
    };
    const api = new DeployAPI(transport(posted, (generated as any).check_schema));
    const model = new DeployModel({ api, sleep: async () => undefined });
    const panel = new DeployPanel(model, host);
    document.body.appendChild(panel.node);
    await model.init();
    await model.setNotebook('nb.ipynb');
    const q = (sel: string) => panel.node.querySelector(sel) as HTMLElement;
    const check = q('.jp-deploy-check');
    // runs, timeouts and kernel are behind "More options"; --no-cache stays the checkbox
    const kernel = check.querySelector('details [name="kernel"]') as HTMLInputElement;
    const cellTimeout = check.querySelector('details [name="cell_timeout"]') as HTMLInputElement;
    expect(kernel).not.toBeNull();
    expect(cellTimeout).not.toBeNull();
    expect(check.querySelector('[name="use_cache"]')).toBeNull();
    kernel.value = 'python3';
    kernel.dispatchEvent(new Event('input'));
    cellTimeout.value = '5';
    cellTimeout.dispatchEvent(new Event('input'));
    const noCache = q('#jp-deploy-no-cache') as HTMLInputElement;
    noCache.checked = true;
    noCache.dispatchEvent(new Event('change'));
    const line = '%deploy check --cell-timeout 5 --kernel python3 --no-cache';
    expect(q('.jp-deploy-check .jp-deploy-magic-line').textContent).toBe(line);
    // the form keeps its values across re-renders, and Insert takes the line as shown
    expect((check.querySelector('details [name="kernel"]') as HTMLInputElement).value).toBe(
      'python3');
    q('.jp-deploy-check .jp-deploy-insert').click();
    expect(host.insertLine).toHaveBeenCalledWith(line);
    q('.jp-deploy-run-check').click();
    await new Promise(r => setTimeout(r, 0));
    await new Promise(r => setTimeout(r, 0));
    const job = posted.find(b => b.action === 'check');
    // only what differs from the defaults goes to the server (its own config decides the rest)
    expect(job.check_options).toEqual({ cell_timeout: 5, kernel: 'python3' });
    expect(job.no_cache).toBe(true);
    panel.dispose();
  });
});

describe('DeployPanel open actions', () => {
  it('gives every deploy result and record the Open action the server describes', async () => {
    const sqlOpen = { kind: 'served', path: '/srv/out/churn.sql',
      url: '/jupyter-deploy/files?path=/srv/out/churn.sql' };
    const reportOpen = { kind: 'lab', path: 'reports/sales/v1/report.html', folder: false };
    const records = [
      { id: 'r2', time: '2026-12-06T05:00:00Z', action: 'deploy', target: 'sql', notebook: '/a.ipynb',
        destination: '/srv/out/churn.sql', status: 'ok', summary: 'churn as SQL', open: sqlOpen },
      { id: 'r1', time: '2026-12-06T04:00:00Z', action: 'deploy', target: 'sql', notebook: '/a.ipynb',
        destination: 'postgresql://db/x#v', status: 'ok', summary: 'a view', open: null },
      { id: 'r0', time: '2026-12-06T03:00:00Z', action: 'check', target: null, notebook: '/a.ipynb',
        verdict: 'repeatable', status: 'ok' }
    ];
    const withOpen: Transport = async (path, init) => {
      const p = path.replace('jupyter-deploy/', '').split('?')[0];
      const body = (b: unknown, status = 200) => ({ status, text: async () => JSON.stringify(b) });
      if (p === 'version') return body({ version: '1' });
      if (p === 'targets') {
        return body({ targets: [{ name: 'model', description: 'A model', schema,
          needs_object: true, default_backend: 'registry' }], backends: [], broken: [] });
      }
      if (p === 'history') return body({ records });
      if (p === 'objects') return body({ objects: [{ name: 'clf', kind: 'estimator', type: 'a.B' }] });
      if (p === 'jobs' && init.method === 'POST') {
        return body({ id: 'j3', action: 'deploy', path: 'a.ipynb', target: 'model', state: 'done',
          progress: { stage: 'done', done: 1, total: 1, message: '' }, magic: '%deploy model clf',
          error: null, result: { target: 'model', status: 'ok', verdict: 'repeatable',
            destination: '/home/u/reports/sales/v1', summary: 'published', proofs: [],
            open: reportOpen } }, 202);
      }
      return body({ code: 'x', message: 'x', hint: '' }, 404);
    };
    const host: IPanelHost = {
      save: jest.fn(async () => undefined), insertLine: jest.fn(), gotoCell: jest.fn(),
      openDiff: jest.fn(), confirm: jest.fn(async () => true), open: jest.fn()
    };
    const model = new DeployModel({ api: new DeployAPI(withOpen), sleep: async () => undefined });
    const panel = new DeployPanel(model, host);
    document.body.appendChild(panel.node);
    await model.init();
    await model.setNotebook('a.ipynb');
    // the history: the .sql file outside the root opens read-only; a view and a check have none
    const items = Array.from(panel.node.querySelectorAll('.jp-deploy-record'));
    expect(items.map(li => !!li.querySelector('.jp-deploy-open'))).toEqual([true, false, false]);
    const openSql = items[0].querySelector('.jp-deploy-open') as HTMLButtonElement;
    expect(openSql.textContent).toBe('Open');
    expect(openSql.title).toMatch(/read-only/);
    expect(openSql.dataset.open).toBe('served');
    openSql.click();
    expect(host.open).toHaveBeenLastCalledWith(sqlOpen);
    // a deploy's result: its report is inside the root, so JupyterLab opens it
    (panel.node.querySelector('.jp-deploy-run-deploy') as HTMLButtonElement).click();
    for (let i = 0; i < 4; i++) {
      await new Promise(r => setTimeout(r, 0));
    }
    const openResult = panel.node.querySelector('.jp-deploy-result ~ .jp-deploy-open') as HTMLButtonElement;
    expect(openResult).not.toBeNull();
    expect(openResult.title).toBe('Open reports/sales/v1/report.html in JupyterLab');
    openResult.click();
    expect(host.open).toHaveBeenLastCalledWith(reportOpen);
    panel.dispose();
  });
});

describe('handlerNote', () => {
  it('shows the %%deploy handler cell the check found, or why it cannot serve', () => {
    expect(handlerNote(null)).toBeNull();
    const ok = handlerNote({ cell: 5, functions: ['preprocess'], signature: 'preprocess(frame)' });
    expect(ok?.textContent).toBe(
      "Serving handler (Cell 5): preprocess(frame); the container's API runs it around the " +
      "model's predict.");
    const bad = handlerNote({ error: 'The %%deploy handler cell (cell 5) defines neither ...' });
    expect(bad?.className).toContain('jp-deploy-handler-error');
    expect(bad?.textContent).toContain('defines neither');
  });
});
