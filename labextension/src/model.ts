/**
 * The sidebar's state, independent of the DOM: the server's targets, and for each notebook its
 * objects, history, running job and the last check and deploy. Jobs are polled until they end.
 */
import { ISignal, Signal } from '@lumino/signaling';
import {
  DeployAPI,
  DeployRequestError,
  IBackend,
  IHistoryRecord,
  IJob,
  IJobRequest,
  IObjectInfo,
  ITarget,
  TERMINAL
} from './api';
import { IOptionsSchema } from './magic';

export type Phase = 'loading' | 'ready' | 'no-server' | 'error';

export type ChangeKind = 'server' | 'notebook' | 'objects' | 'history' | 'job';

export interface INotebookState {
  path: string;
  objects: IObjectInfo[];
  history: IHistoryRecord[];
  active: IJob | null;
  check: IJob | null;
  deploy: IJob | null;
  /** A request that failed before any job started (403, 404, 409...). */
  error: DeployRequestError | null;
  /** Which action the error belongs to. */
  errorAction: 'check' | 'deploy' | null;
  /**
   * What the user typed in each target's form for this notebook (restored when they come back
   * to it). `--force` is never kept: it is asked for, and confirmed, at each deploy.
   */
  drafts: Record<string, IDraft>;
}

export interface IDraft {
  values: Record<string, unknown>;
  to: string;
}

export interface IModelOptions {
  api?: DeployAPI;
  pollInterval?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** The order a user decides in: what leaves the notebook, from the notebook itself outwards. */
export const TARGET_ORDER = ['report', 'model', 'sql', 'container'];

export function orderTargets<T extends { name: string }>(targets: T[]): T[] {
  const rank = (t: T) => {
    const i = TARGET_ORDER.indexOf(t.name);
    return i < 0 ? TARGET_ORDER.length : i;
  };
  return [...targets].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

const defaultSleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

function asRequestError(err: unknown): DeployRequestError {
  if (err instanceof DeployRequestError) {
    return err;
  }
  return new DeployRequestError(
    0,
    'internal',
    String((err as Error)?.message || err),
    'This is a bug in the jupyter-deploy sidebar: please report it.'
  );
}

export class DeployModel {
  readonly api: DeployAPI;
  readonly pollInterval: number;
  private sleep: (ms: number) => Promise<void>;
  private _changed = new Signal<this, ChangeKind>(this);
  private states = new Map<string, INotebookState>();
  private _path: string | null = null;

  phase: Phase = 'loading';
  serverError: DeployRequestError | null = null;
  version = '';
  targets: ITarget[] = [];
  /** The check's option schema, from the server (the same definition as the CLI's flags). */
  checkSchema: IOptionsSchema | null = null;
  backends: IBackend[] = [];
  broken: { name: string; error: string }[] = [];

  constructor(options: IModelOptions = {}) {
    this.api = options.api || new DeployAPI();
    this.pollInterval = options.pollInterval ?? 500;
    this.sleep = options.sleep || defaultSleep;
  }

  get changed(): ISignal<this, ChangeKind> {
    return this._changed;
  }

  get path(): string | null {
    return this._path;
  }

  /** The state of the current notebook (null when no notebook is active). */
  get current(): INotebookState | null {
    return this._path === null ? null : this.stateOf(this._path);
  }

  stateOf(path: string): INotebookState {
    let state = this.states.get(path);
    if (!state) {
      state = {
        path,
        objects: [],
        history: [],
        active: null,
        check: null,
        deploy: null,
        error: null,
        errorAction: null,
        drafts: {}
      };
      this.states.set(path, state);
    }
    return state;
  }

  target(name: string): ITarget | undefined {
    return this.targets.find(t => t.name === name);
  }

  /** Ask the server who it is and what it offers. */
  async init(): Promise<void> {
    this.phase = 'loading';
    this._changed.emit('server');
    try {
      this.version = (await this.api.version()).version;
      const reply = await this.api.targets();
      this.targets = orderTargets(reply.targets);
      this.checkSchema = reply.check || null;
      this.backends = reply.backends;
      this.broken = reply.broken;
      this.phase = 'ready';
      this.serverError = null;
    } catch (err) {
      this.serverError = asRequestError(err);
      this.phase = this.serverError.missingExtension ? 'no-server' : 'error';
    }
    this._changed.emit('server');
    if (this.phase === 'ready' && this._path) {
      await this.refresh(this._path);
    }
  }

  /** Follow the active notebook (null: none). */
  async setNotebook(path: string | null): Promise<void> {
    if (path === this._path) {
      return;
    }
    this._path = path;
    this._changed.emit('notebook');
    if (path !== null && this.phase === 'ready') {
      await this.refresh(path);
    }
  }

  /**
   * Reload the history of a notebook only (after its kernel ran a cell: a `%deploy` in the
   * notebook writes the same history the sidebar shows). Nothing is emitted when unchanged.
   */
  async refreshHistory(path: string): Promise<void> {
    if (this.phase !== 'ready') {
      return;
    }
    const state = this.stateOf(path);
    let records: IHistoryRecord[];
    try {
      records = (await this.api.history(path)).records;
    } catch {
      return;
    }
    const newest = (r: IHistoryRecord[]) => (r.length ? `${r.length}:${r[0].id ?? r[0].time}` : '');
    if (newest(records) !== newest(state.history)) {
      state.history = records;
      this._changed.emit('history');
    }
  }

  /**
   * Reload the history and the objects of a notebook, and pick up its jobs on the server: one
   * still running (started before a page reload, or by another window) is followed.
   */
  async refresh(path: string): Promise<void> {
    const state = this.stateOf(path);
    const [history, objects, jobs] = await Promise.all([
      this.api.history(path).catch(() => ({ records: state.history })),
      this.api.objects(path).catch(() => ({ objects: state.objects })),
      this.api.jobs().catch(() => ({ jobs: [] as IJob[] }))
    ]);
    state.history = history.records;
    state.objects = objects.objects;
    this._changed.emit('history');
    this._changed.emit('objects');
    const mine = jobs.jobs.filter(j => j.path === path); // newest first
    const running = mine.find(j => !TERMINAL.includes(j.state));
    if (running && !state.active) {
      this.record(state, running);
      void this.poll(state, running);
    }
    for (const action of ['check', 'deploy'] as const) {
      if (state[action] === null) {
        const last = mine.find(j => j.action === action && TERMINAL.includes(j.state));
        if (last) {
          try {
            state[action] = await this.api.job(last.id);
            this._changed.emit('job');
          } catch {
            // gone from the server's memory: nothing to show
          }
        }
      }
    }
  }

  /** Check the current notebook. `prepare` runs first (the panel saves the notebook). */
  check(
    prepare?: () => Promise<void>,
    runs = 1,
    noCache = false,
    options: Record<string, unknown> = {}
  ): Promise<IJob | null> {
    const request: IJobRequest = { action: 'check', path: '', runs };
    if (noCache) {
      request.no_cache = true;
    }
    if (Object.keys(options).length) {
      request.check_options = { ...options };
    }
    return this.start(request, prepare);
  }

  deploy(
    target: string,
    options: Record<string, unknown>,
    extra: { to?: string | null; force?: boolean } = {},
    prepare?: () => Promise<void>
  ): Promise<IJob | null> {
    return this.start(
      {
        action: 'deploy',
        path: '',
        target,
        options,
        to: extra.to || null,
        force: !!extra.force
      },
      prepare
    );
  }

  async cancel(): Promise<void> {
    const state = this.current;
    if (!state || !state.active) {
      return;
    }
    try {
      const job = await this.api.cancel(state.active.id);
      this.record(state, job);
    } catch (err) {
      state.error = asRequestError(err);
      this._changed.emit('job');
    }
  }

  private async start(
    request: IJobRequest,
    prepare?: () => Promise<void>
  ): Promise<IJob | null> {
    const path = this._path;
    if (path === null) {
      return null;
    }
    const state = this.stateOf(path);
    if (state.active) {
      return null; // one job at a time per notebook; the button is disabled meanwhile
    }
    state.error = null;
    state.errorAction = request.action;
    const placeholder: IJob = {
      id: '',
      action: request.action,
      path,
      target: request.target || null,
      state: 'queued',
      progress: {
        stage: 'saving',
        done: 0,
        total: 0,
        message: 'saving the notebook'
      },
      result: null,
      error: null,
      magic: ''
    };
    state.active = placeholder;
    this._changed.emit('job');
    let job: IJob;
    try {
      if (prepare) {
        await prepare();
      }
      job = await this.api.startJob({ ...request, path });
    } catch (err) {
      state.active = null;
      state.error = asRequestError(err);
      this._changed.emit('job');
      const other = state.error.details?.job;
      if (state.error.code === 'job-running' && typeof other === 'string') {
        // Someone (another window, a reload) runs a job on this notebook: follow it.
        try {
          const running = await this.api.job(other);
          if (!TERMINAL.includes(running.state) && !state.active) {
            this.record(state, running);
            void this.poll(state, running);
          }
        } catch {
          // keep the 409's message and hint
        }
      }
      return null;
    }
    this.record(state, job);
    return this.poll(state, job);
  }

  private record(state: INotebookState, job: IJob) {
    if (TERMINAL.includes(job.state)) {
      if (state.active && (state.active.id === job.id || state.active.id === '')) {
        state.active = null;
      }
    } else {
      state.active = job;
    }
    if (job.action === 'check') {
      state.check = job;
    } else {
      state.deploy = job;
    }
    this._changed.emit('job');
  }

  private async poll(state: INotebookState, job: IJob): Promise<IJob> {
    let current = job;
    let failures = 0;
    while (!TERMINAL.includes(current.state)) {
      await this.sleep(this.pollInterval);
      try {
        current = await this.api.job(current.id);
        failures = 0;
      } catch (err) {
        failures += 1;
        if (failures >= 5) {
          state.active = null;
          state.error = asRequestError(err);
          this._changed.emit('job');
          return current;
        }
        continue;
      }
      if (state.active && state.active.id === job.id && state.active.state === 'cancelled') {
        break;
      }
      this.record(state, current);
    }
    this.record(state, current);
    await this.refresh(state.path);
    return current;
  }
}
