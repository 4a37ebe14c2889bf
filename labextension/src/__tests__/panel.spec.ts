import { DeployAPI, Transport } from '../api';
import { DeployModel } from '../model';
import { DeployPanel, IPanelHost } from '../panel';

const schema = {
  properties: {
    variable: { type: 'string', 'x-cli-positional': true, 'x-object-kind': 'estimator' },
    name: { type: 'string' }
  },
  required: ['variable']
};

function transport(): Transport {
  return async (path, init) => {
    const p = path.replace('jupyter-deploy/', '').split('?')[0];
    const body = (b: unknown, status = 200) => ({ status, text: async () => JSON.stringify(b) });
    if (p === 'version') return body({ version: '1' });
    if (p === 'targets') {
      return body({ targets: [{ name: 'model', description: 'A model', schema, needs_object: true,
        default_backend: 'registry' }], backends: [], broken: [] });
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
          { kind: 'output-diff', cell: 1, severity: 'error', message: 'cell 1: output differs',
            hint: 'seed it', saved: 'a', clean: 'b', diff: '-a\n+b' }] } }, 202);
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
      openDiff: jest.fn()
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
