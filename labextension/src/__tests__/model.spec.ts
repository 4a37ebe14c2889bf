import { DeployAPI, IJob, Transport } from '../api';
import { DeployModel } from '../model';

/** An in-memory server: jobs advance one step per poll. */
function server(opts: { fail?: boolean; missing?: boolean } = {}) {
  const jobs: Record<string, IJob & { steps: number }> = {};
  let n = 0;
  const history: any[] = [];
  const transport: Transport = async (path, init) => {
    const reply = (status: number, body: unknown) => ({
      status,
      text: async () => JSON.stringify(body)
    });
    const p = path.replace('jupyter-deploy/', '').split('?')[0];
    if (p === 'version') {
      return opts.missing ? { status: 404, text: async () => '' } : reply(200, { version: '9' });
    }
    if (p === 'targets') {
      return reply(200, {
        targets: [{ name: 'model', description: 'd', schema: { properties: {} },
          needs_object: true, default_backend: 'registry' }],
        backends: [],
        broken: []
      });
    }
    if (p === 'history') {
      return reply(200, { records: history });
    }
    if (p === 'objects') {
      return reply(200, { objects: history.length ? [{ name: 'clf', kind: 'estimator',
        type: 'x' }] : [] });
    }
    if (p === 'jobs' && init.method === 'GET') {
      return reply(200, { jobs: Object.values(jobs).reverse() });
    }
    if (p === 'jobs' && init.method === 'POST') {
      const body = JSON.parse(init.body!);
      const busy = Object.values(jobs).find(j => j.path === body.path && j.state === 'running');
      if (busy) {
        return reply(409, { code: 'job-running', message: 'busy', hint: 'wait',
          details: { job: busy.id } });
      }
      const id = 'j' + ++n;
      jobs[id] = { id, action: body.action, path: body.path, target: body.target || null,
        state: 'running', progress: { stage: 'run', done: 0, total: 3, message: '' },
        result: null, error: null, magic: '%deploy check', steps: 0 };
      return reply(202, jobs[id]);
    }
    const m = /^jobs\/(\w+)$/.exec(p);
    if (m) {
      const job = jobs[m[1]];
      if (init.method === 'DELETE') {
        job.state = 'cancelled';
        return reply(200, job);
      }
      if (job.state === 'running') {
        job.steps++;
        job.progress = { ...job.progress, done: job.steps };
        if (job.steps >= 3) {
          if (opts.fail) {
            job.state = 'failed';
            job.error = { code: 'not-repeatable', message: 'nope', hint: 'fix it' };
          } else {
            job.state = 'done';
            job.result = { verdict: 'repeatable', findings: [] };
            history.push({ id: 'h', action: job.action, time: '', notebook: job.path,
              target: null });
          }
        }
      }
      return reply(200, job);
    }
    return reply(404, { code: 'nope', message: p, hint: '' });
  };
  return { transport, jobs, history };
}

const noSleep = () => Promise.resolve();

describe('DeployModel', () => {
  it('loads the targets and detects a missing server extension', async () => {
    const ok = new DeployModel({ api: new DeployAPI(server().transport), sleep: noSleep });
    await ok.init();
    expect(ok.phase).toBe('ready');
    expect(ok.targets.map(t => t.name)).toEqual(['model']);
    const missing = new DeployModel({
      api: new DeployAPI(server({ missing: true }).transport),
      sleep: noSleep
    });
    await missing.init();
    expect(missing.phase).toBe('no-server');
    expect(missing.serverError!.hint).toContain('jupyter server extension enable');
  });

  it('runs a check: saves first, polls progress to the verdict, then refreshes', async () => {
    const model = new DeployModel({ api: new DeployAPI(server().transport), sleep: noSleep });
    await model.init();
    await model.setNotebook('nb.ipynb');
    const seen: string[] = [];
    const progress: number[] = [];
    model.changed.connect((_, kind) => {
      seen.push(kind);
      const active = model.current?.active;
      if (active && active.id) {
        progress.push(active.progress.done);
      }
    });
    const order: string[] = [];
    const job = await model.check(async () => {
      order.push('save');
    });
    expect(order).toEqual(['save']);
    expect(job!.state).toBe('done');
    const state = model.current!;
    expect(state.active).toBeNull();
    expect(state.check!.result.verdict).toBe('repeatable');
    expect(progress).toEqual(expect.arrayContaining([0, 1, 2]));
    expect(state.history).toHaveLength(1);
    expect(state.objects.map(o => o.name)).toEqual(['clf']);
    expect(seen).toContain('history');
  });

  it('keeps a failed job error with its hint', async () => {
    const model = new DeployModel({
      api: new DeployAPI(server({ fail: true }).transport),
      sleep: noSleep
    });
    await model.init();
    await model.setNotebook('nb.ipynb');
    const job = await model.deploy('model', { variable: 'clf' });
    expect(job!.state).toBe('failed');
    expect(model.current!.deploy!.error).toEqual({ code: 'not-repeatable', message: 'nope',
      hint: 'fix it' });
  });

  it('refuses a second job on the same notebook while one runs, and cancels', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>(r => (release = r));
    const srv = server();
    const model = new DeployModel({
      api: new DeployAPI(srv.transport),
      sleep: () => gate
    });
    await model.init();
    await model.setNotebook('nb.ipynb');
    const first = model.check();
    await new Promise(r => setTimeout(r, 0));
    expect(model.current!.active!.id).toBe('j1');
    expect(await model.check()).toBeNull(); // the sidebar does not start a second one
    await model.cancel();
    expect(model.current!.active).toBeNull();
    expect(model.current!.check!.state).toBe('cancelled');
    release();
    const done = await first;
    expect(done!.state).toBe('cancelled');
  });

  it('shows a 409 from another window, then follows that job to its end', async () => {
    const srv = server();
    const api = new DeployAPI(srv.transport);
    const model = new DeployModel({ api, sleep: noSleep });
    await model.init();
    await model.setNotebook('nb.ipynb');
    await api.startJob({ action: 'check', path: 'nb.ipynb' }); // another window's job
    const finished = new Promise<void>(resolve => {
      model.changed.connect(() => {
        if (model.current!.check?.state === 'done') {
          resolve();
        }
      });
    });
    expect(await model.check()).toBeNull();
    expect(model.current!.error!.code).toBe('job-running');
    expect(model.current!.error!.hint).toBe('wait');
    expect(model.current!.error!.details).toEqual({ job: 'j1' });
    await finished;
    expect(model.current!.check!.id).toBe('j1');
    expect(model.current!.active).toBeNull();
  });

  it('picks up a job that was running before a page reload, and the last results', async () => {
    const srv = server();
    const api = new DeployAPI(srv.transport);
    await api.startJob({ action: 'check', path: 'nb.ipynb' });
    const model = new DeployModel({ api, sleep: noSleep });
    await model.init();
    const done = new Promise<void>(resolve => {
      model.changed.connect(() => {
        if (model.current?.check?.state === 'done') {
          resolve();
        }
      });
    });
    await model.setNotebook('nb.ipynb');
    await done;
    expect(model.current!.check!.result.verdict).toBe('repeatable');
    // a fresh sidebar (another reload) shows the finished check without running it again
    const again = new DeployModel({ api, sleep: noSleep });
    await again.init();
    await again.setNotebook('nb.ipynb');
    expect(again.current!.active).toBeNull();
    expect(again.current!.check!.id).toBe('j1');
    expect(again.current!.check!.result.verdict).toBe('repeatable');
  });

  it('keeps state per notebook', async () => {
    const model = new DeployModel({ api: new DeployAPI(server().transport), sleep: noSleep });
    await model.init();
    await model.setNotebook('a.ipynb');
    await model.check();
    await model.setNotebook('b.ipynb');
    expect(model.current!.check).toBeNull();
    await model.setNotebook('a.ipynb');
    expect(model.current!.check!.state).toBe('done');
  });
});

describe('DeployModel history after the kernel ran a cell', () => {
  it('picks up a deploy made by the magic, and stays quiet when nothing changed', async () => {
    const srv = server();
    const model = new DeployModel({ api: new DeployAPI(srv.transport), sleep: async () => undefined });
    await model.init();
    await model.setNotebook('nb.ipynb');
    const seen: string[] = [];
    model.changed.connect((_m, kind) => seen.push(kind));
    await model.refreshHistory('nb.ipynb');
    expect(seen).toEqual([]);
    // `%deploy model ...` in the notebook appended a record on the server
    srv.history.unshift({ id: 'm1', action: 'deploy', target: 'model', time: 't', notebook: 'nb.ipynb' });
    await model.refreshHistory('nb.ipynb');
    expect(seen).toEqual(['history']);
    expect(model.current!.history[0].id).toBe('m1');
  });
});
