/**
 * The client of the server extension's REST API under `/jupyter-deploy/`.
 *
 * Every call goes through one `transport` (by default JupyterLab's ServerConnection, which
 * adds the token and XSRF headers). Failures become a `DeployRequestError` with the server's
 * `code`, `message` and `hint`, so the panel can always show what to do.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { IOptionsSchema } from './magic';

export interface IErrorBody {
  code: string;
  message: string;
  hint: string;
  details?: Record<string, unknown>;
}

export interface ITarget {
  name: string;
  description: string;
  schema: IOptionsSchema;
  needs_object: boolean;
  default_backend: string;
  /** What --to means for this target (a registry, a folder...), and its other flag names. */
  destination_help?: string;
  destination_flags?: string[];
  [key: string]: unknown;
}

export interface IBackend {
  name: string;
  description: string;
  accepts?: string[];
  schemes?: string[];
  [key: string]: unknown;
}

export interface ITargetsReply {
  targets: ITarget[];
  backends: IBackend[];
  broken: { name: string; error: string }[];
  /** The check's options (DeployConfig traits tagged check_option): the form and the line. */
  check?: IOptionsSchema;
}

export interface IObjectInfo {
  name: string;
  kind: string;
  type: string;
  shape?: number[];
  kept?: boolean;
  [key: string]: unknown;
}

export interface IFinding {
  kind: string;
  cell?: number | null;
  severity?: string;
  message: string;
  hint?: string;
  diff?: string;
  saved?: string;
  clean?: string;
  mime?: string;
  [key: string]: unknown;
}

export interface IProof {
  name: string;
  ok: boolean;
  detail?: string;
  data?: Record<string, unknown>;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface IProgress {
  stage: string;
  done: number;
  total: number;
  message: string;
}

export interface IJob {
  id: string;
  action: 'check' | 'deploy';
  path: string;
  target: string | null;
  state: JobState;
  progress: IProgress;
  log?: string[];
  result: any;
  error: IErrorBody | null;
  magic: string;
}

export interface IJobRequest {
  action: 'check' | 'deploy';
  path: string;
  target?: string;
  options?: Record<string, unknown>;
  to?: string | null;
  force?: boolean;
  runs?: number;
  no_cache?: boolean;
  /** The check's options by name ({"runs": 2, "use_cache": false, "kernel": "python3"}). */
  check_options?: Record<string, unknown>;
}

/**
 * How to open what a deploy wrote (the server decides, from its root and the history): in
 * JupyterLab by a root-relative path, read-only through the server extension (outside the
 * root), or a web link.
 */
export interface IOpenAction {
  kind: 'lab' | 'served' | 'link';
  path?: string;
  url?: string;
  folder?: boolean;
}

export interface IHistoryRecord {
  id: string;
  time: string;
  action: string;
  target: string | null;
  notebook: string;
  verdict?: string;
  destination?: string | null;
  url?: string | null;
  status?: string;
  summary?: string;
  magic?: string;
  open?: IOpenAction | null;
  [key: string]: unknown;
}

export const TERMINAL: JobState[] = ['done', 'failed', 'cancelled'];

export class DeployRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string = '',
    readonly details: Record<string, unknown> | null = null
  ) {
    super(message);
    this.name = 'DeployRequestError';
  }

  /** The server answered 404 on /version: the server extension is not enabled. */
  get missingExtension(): boolean {
    return this.code === 'no-server-extension';
  }
}

export interface ITransportReply {
  status: number;
  text(): Promise<string>;
}

/** Performs one request against a path relative to the server's base URL. */
export type Transport = (
  path: string,
  init: { method: string; body?: string }
) => Promise<ITransportReply>;

export function serverTransport(
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Transport {
  return async (path, init) => {
    const url = URLExt.join(settings.baseUrl, path);
    const reply = await ServerConnection.makeRequest(url, init, settings);
    return reply;
  };
}

export const MISSING_EXTENSION_HINT =
  'Run `jupyter server extension enable jupyter_deploy` in the environment that runs ' +
  'JupyterLab, then restart JupyterLab.';

function query(params: Record<string, string>): string {
  return '?' + new URLSearchParams(params).toString();
}

export class DeployAPI {
  constructor(readonly transport: Transport = serverTransport()) {}

  async request<T>(
    path: string,
    method = 'GET',
    body?: unknown
  ): Promise<T> {
    const init: { method: string; body?: string } = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
    }
    let reply: ITransportReply;
    try {
      reply = await this.transport('jupyter-deploy/' + path, init);
    } catch (err) {
      throw new DeployRequestError(
        0,
        'network',
        `Cannot reach the Jupyter server: ${(err as Error).message || err}`,
        'Check that JupyterLab is still running, then try again.'
      );
    }
    const text = await reply.text();
    let data: any = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (reply.status >= 200 && reply.status < 300) {
      return data as T;
    }
    if (data && typeof data === 'object' && data.code) {
      throw new DeployRequestError(
        reply.status,
        String(data.code),
        String(data.message || 'The request failed.'),
        String(data.hint || ''),
        data.details && typeof data.details === 'object' ? data.details : null
      );
    }
    if (reply.status === 404 && path.startsWith('version')) {
      throw new DeployRequestError(
        404,
        'no-server-extension',
        'The jupyter-deploy server extension is not running.',
        MISSING_EXTENSION_HINT
      );
    }
    if (reply.status === 403) {
      throw new DeployRequestError(
        403,
        'forbidden',
        (data && data.message) || 'The server refused the request (403).',
        'Reload the page: your session may have expired.'
      );
    }
    throw new DeployRequestError(
      reply.status,
      'http-' + reply.status,
      (data && (data.message || data.reason)) ||
        `The server answered ${reply.status}.`,
      'See the server log for details.'
    );
  }

  version(): Promise<{ version: string }> {
    return this.request('version');
  }

  targets(): Promise<ITargetsReply> {
    return this.request('targets');
  }

  startJob(body: IJobRequest): Promise<IJob> {
    return this.request('jobs', 'POST', body);
  }

  job(id: string): Promise<IJob> {
    return this.request('jobs/' + encodeURIComponent(id));
  }

  jobs(): Promise<{ jobs: IJob[] }> {
    return this.request('jobs');
  }

  cancel(id: string): Promise<IJob> {
    return this.request('jobs/' + encodeURIComponent(id), 'DELETE');
  }

  history(path: string): Promise<{ records: IHistoryRecord[] }> {
    return this.request('history' + query({ path }));
  }

  objects(path: string): Promise<{ objects: IObjectInfo[] }> {
    return this.request('objects' + query({ path }));
  }
}
