import { DeployAPI, DeployRequestError, MISSING_EXTENSION_HINT, Transport } from '../api';

type Call = { path: string; method: string; body?: any };

function fakeTransport(
  routes: Record<string, (call: Call) => [number, unknown]>
): { transport: Transport; calls: Call[] } {
  const calls: Call[] = [];
  const transport: Transport = async (path, init) => {
    const call = { path, method: init.method, body: init.body ? JSON.parse(init.body) : undefined };
    calls.push(call);
    const key = `${init.method} ${path.split('?')[0]}`;
    const handler = routes[key];
    const [status, body] = handler ? handler(call) : [404, '<html>Not Found</html>'];
    return {
      status,
      text: async () => (typeof body === 'string' ? body : JSON.stringify(body))
    };
  };
  return { transport, calls };
}

describe('DeployAPI', () => {
  it('builds the REST paths and bodies', async () => {
    const { transport, calls } = fakeTransport({
      'GET jupyter-deploy/version': () => [200, { version: '0.1.0' }],
      'POST jupyter-deploy/jobs': c => [202, { id: 'j1', ...c.body, state: 'queued' }],
      'GET jupyter-deploy/jobs/j1': () => [200, { id: 'j1', state: 'running' }],
      'DELETE jupyter-deploy/jobs/j1': () => [200, { id: 'j1', state: 'cancelled' }],
      'GET jupyter-deploy/history': () => [200, { records: [] }],
      'GET jupyter-deploy/objects': () => [200, { objects: [] }]
    });
    const api = new DeployAPI(transport);
    expect(await api.version()).toEqual({ version: '0.1.0' });
    const job = await api.startJob({ action: 'check', path: 'a b/n.ipynb' });
    expect(job.id).toBe('j1');
    expect((await api.job('j1')).state).toBe('running');
    expect((await api.cancel('j1')).state).toBe('cancelled');
    await api.history('a b/n&x.ipynb');
    await api.objects('n.ipynb');
    expect(calls.map(c => `${c.method} ${c.path}`)).toEqual([
      'GET jupyter-deploy/version',
      'POST jupyter-deploy/jobs',
      'GET jupyter-deploy/jobs/j1',
      'DELETE jupyter-deploy/jobs/j1',
      'GET jupyter-deploy/history?path=a+b%2Fn%26x.ipynb',
      'GET jupyter-deploy/objects?path=n.ipynb'
    ]);
    expect(calls[1].body).toEqual({ action: 'check', path: 'a b/n.ipynb' });
  });

  it('turns the server error body into code, message and hint', async () => {
    const { transport } = fakeTransport({
      'POST jupyter-deploy/jobs': () => [
        409,
        { code: 'job-running', message: 'A check is already running.', hint: 'Wait.' }
      ]
    });
    const api = new DeployAPI(transport);
    await expect(api.startJob({ action: 'check', path: 'n.ipynb' })).rejects.toMatchObject({
      status: 409,
      code: 'job-running',
      message: 'A check is already running.',
      hint: 'Wait.'
    });
  });

  it('explains a missing server extension', async () => {
    const { transport } = fakeTransport({});
    const api = new DeployAPI(transport);
    const err: DeployRequestError = await api.version().then(
      () => {
        throw new Error('should fail');
      },
      e => e
    );
    expect(err.missingExtension).toBe(true);
    expect(err.hint).toBe(MISSING_EXTENSION_HINT);
    expect(err.hint).toContain('jupyter server extension enable jupyter_deploy');
  });

  it('reports a network failure and a non-JSON error', async () => {
    const api = new DeployAPI(async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(api.targets()).rejects.toMatchObject({ code: 'network' });
    const api2 = new DeployAPI(async () => ({ status: 502, text: async () => 'Bad gateway' }));
    const err = await api2.targets().catch(e => e);
    expect(err).toBeInstanceOf(DeployRequestError);
    expect(err.status).toBe(502);
    expect(err.hint).toBeTruthy();
  });
});
