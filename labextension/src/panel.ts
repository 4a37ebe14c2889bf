/**
 * The "Deploy" sidebar: check, targets with generated forms, deploy, results, history. Plain
 * DOM inside a Lumino widget; every control is a native button, input or select with a label.
 */
import { Widget } from '@lumino/widgets';
import {
  DeployRequestError,
  IFinding,
  IHistoryRecord,
  IJob,
  IOpenAction,
  IProof,
  ITarget
} from './api';
import {
  VERDICT_TEXT,
  cellLabel,
  findingCell,
  fraction,
  hasDiff,
  firstSentence,
  isLink,
  labelParts,
  logOf,
  openLabel,
  shortTime,
  splitHeadline,
  verdictClass
} from './findings';
import { SchemaForm } from './form';
import { checkLine, checkLineFor, IOptionsSchema, jsonEqual, magicLine } from './magic';
import { ChangeKind, DeployModel } from './model';

export interface IPanelHost {
  /** Save the current notebook before a job reads it from disk. */
  save(): Promise<void>;
  /** Insert `line` as a new code cell below the active one. */
  insertLine(line: string): void;
  /** Scroll to and select cell `index` of the current notebook. */
  gotoCell(index: number): void;
  /** Open the saved-vs-clean diff of a finding. */
  openDiff(finding: IFinding): void;
  /** Ask the user to confirm (a deploy with --force); resolves to their answer. */
  confirm(title: string, message: string): Promise<boolean>;
  /** Open what a deploy wrote: in JupyterLab, served read-only, or a link (see IOpenAction). */
  open(action: IOpenAction): void;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) {
    node.className = cls;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** A label for a checkbox, its flag in a code span that never breaks across lines. */
function flagLabel(text: string, forId: string): HTMLLabelElement {
  const [words, flag] = labelParts(text);
  const label = el('label', '', words);
  label.htmlFor = forId;
  if (flag) {
    label.appendChild(document.createTextNode(' '));
    label.appendChild(el('code', 'jp-deploy-flag', `(${flag})`));
  }
  return label;
}

function button(text: string, cls: string, onClick: () => void, title?: string) {
  const b = el('button', 'jp-deploy-button ' + cls, text);
  b.type = 'button';
  if (title) {
    b.title = title;
    b.setAttribute('aria-label', title);
  }
  b.addEventListener('click', onClick);
  return b;
}

interface ICard {
  target: ITarget;
  node: HTMLElement;
  form: SchemaForm;
  to: HTMLInputElement;
  force: HTMLInputElement;
  magic: HTMLElement;
  deployButton: HTMLButtonElement;
  body: HTMLElement;
  toggle: HTMLButtonElement;
}

export class DeployPanel extends Widget {
  private header = el('div', 'jp-deploy-header');
  private status = el('div', 'jp-deploy-status');
  private checkSection = el('section', 'jp-deploy-section jp-deploy-check');
  private jobSection = el('section', 'jp-deploy-section jp-deploy-job');
  private targetsSection = el('section', 'jp-deploy-section jp-deploy-targets');
  private historySection = el('section', 'jp-deploy-section jp-deploy-history');
  private cards = new Map<string, ICard>();
  private cardsFor = '';
  private revealed = '';
  private noCache = el('input');
  // The check's other options (runs, timeouts, kernel), built from the server's schema.
  private checkForm: SchemaForm | null = null;
  private lastDeployTarget: string | null = null;
  firstPaint: number | null = null;

  constructor(readonly model: DeployModel, readonly host: IPanelHost) {
    super();
    this.addClass('jp-deploy-panel');
    this.id = 'jp-deploy-sidebar';
    this.title.caption = 'Deploy';
    const scroll = el('div', 'jp-deploy-scroll');
    for (const node of [
      this.header,
      this.status,
      this.checkSection,
      this.jobSection,
      this.targetsSection,
      this.historySection
    ]) {
      scroll.appendChild(node);
    }
    this.node.appendChild(scroll);
    this.model.changed.connect(this.onModelChanged, this);
    this.renderAll();
  }

  dispose(): void {
    this.model.changed.disconnect(this.onModelChanged, this);
    super.dispose();
  }

  /** Time of the first paint after the panel was first shown (for the README's figure). */
  protected onAfterShow(): void {
    if (this.firstPaint === null) {
      requestAnimationFrame(() => {
        this.firstPaint = performance.now();
        this.node.dataset.firstPaint = String(this.firstPaint);
      });
    }
  }

  private onModelChanged(_: DeployModel, kind: ChangeKind): void {
    switch (kind) {
      case 'job':
        this.renderCheck();
        this.renderJob();
        this.updateButtons();
        break;
      case 'history':
        this.renderHistory();
        break;
      case 'objects':
        this.refreshObjects();
        break;
      default:
        this.renderAll();
    }
  }

  renderAll(): void {
    this.renderHeader();
    this.renderStatus();
    this.renderCheck();
    this.renderTargets();
    this.renderJob();
    this.renderHistory();
    this.updateButtons();
  }

  // ------------------------------------------------------------------ header and status

  private renderHeader(): void {
    this.header.textContent = '';
    const title = el('h2', 'jp-deploy-title', 'Deploy');
    this.header.appendChild(title);
    const path = this.model.path;
    const nb = el(
      'div',
      'jp-deploy-notebook',
      path ? path.split('/').pop() : 'Open a notebook to check and deploy it.'
    );
    nb.title = path || '';
    nb.dataset.path = path || '';
    this.header.appendChild(nb);
  }

  private renderStatus(): void {
    this.status.textContent = '';
    const m = this.model;
    if (m.phase === 'loading') {
      this.status.appendChild(el('div', 'jp-deploy-muted', 'Connecting to the server…'));
    } else if (m.phase === 'no-server' || m.phase === 'error') {
      this.status.appendChild(this.errorBox(m.serverError!));
      this.status.appendChild(button('Retry', 'jp-deploy-secondary', () => void m.init()));
    } else if (m.broken.length) {
      const box = el('details', 'jp-deploy-broken');
      box.appendChild(el('summary', '', `${m.broken.length} plugin(s) failed to load`));
      for (const b of m.broken) {
        box.appendChild(el('div', 'jp-deploy-muted', `${b.name}: ${b.error}`));
      }
      this.status.appendChild(box);
    }
  }

  private errorBox(
    err:
      | DeployRequestError
      | { message: string; hint?: string; code?: string; details?: Record<string, unknown> | null }
  ) {
    const box = el('div', 'jp-deploy-error');
    box.setAttribute('role', 'alert');
    const { headline, rest } = splitHeadline(err.message);
    box.appendChild(el('div', 'jp-deploy-error-message', headline));
    if (err.hint) {
      box.appendChild(el('div', 'jp-deploy-error-hint', splitHeadline(err.hint, 400).headline));
    }
    const log = logOf(err.details);
    if (rest || log) {
      box.appendChild(this.logToggle(log ? 'Show the log' : 'Show the whole message',
        [rest, log].filter(Boolean).join('\n\n')));
    }
    if (err.code) {
      box.dataset.code = err.code;
    }
    return box;
  }

  /** A long text (an engine's log, a whole message) collapsed behind a toggle. */
  private logToggle(label: string, text: string): HTMLElement {
    const details = el('details', 'jp-deploy-log');
    details.appendChild(el('summary', '', label));
    details.appendChild(el('pre', 'jp-deploy-log-text', text));
    return details;
  }

  private magicRow(line: string): HTMLElement {
    const row = el('div', 'jp-deploy-magic');
    const code = el('code', 'jp-deploy-magic-line', line);
    row.appendChild(code);
    row.appendChild(
      // the line as shown when clicked (a form may have changed it since)
      button('Insert', 'jp-deploy-secondary jp-deploy-insert',
        () => this.host.insertLine(code.textContent || line),
        `Insert "${line}" as a new cell below the active one`)
    );
    return row;
  }

  // ------------------------------------------------------------------------- check

  /** The check's options other than --no-cache, as a form from the server's schema. */
  private checkOptionsForm(): SchemaForm | null {
    const schema = this.model.checkSchema;
    if (!schema || !schema.properties) {
      return null;
    }
    if (!this.checkForm) {
      const props = { ...schema.properties };
      delete props.use_cache; // the checkbox above
      const advanced: Record<string, unknown> = {};
      for (const [name, spec] of Object.entries(props)) {
        advanced[name] = { ...spec, 'x-advanced': true }; // behind "More options"
      }
      const sub: IOptionsSchema = { ...schema, properties: advanced as IOptionsSchema['properties'] };
      this.checkForm = new SchemaForm(sub, { id: 'check' });
      this.checkForm.onChange = () => {
        const line = this.checkSection.querySelector('.jp-deploy-magic-line');
        if (line) {
          line.textContent = this.checkMagic();
        }
      };
    }
    return this.checkForm;
  }

  /** The values the check form sets (null when one is invalid: the form shows why). */
  private checkOptions(): Record<string, unknown> | null {
    if (this.checkForm && !this.checkForm.validate()) {
      return null;
    }
    return this.changedCheckOptions();
  }

  /** Only what differs from the schema's defaults: the server's own config decides the rest. */
  private changedCheckOptions(): Record<string, unknown> {
    const values = this.checkForm ? this.checkForm.values() : {};
    const props = this.model.checkSchema?.properties || {};
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(values)) {
      if (!('default' in (props[name] || {})) || !jsonEqual(props[name].default, value)) {
        out[name] = value;
      }
    }
    return out;
  }

  private checkMagic(): string {
    const schema = this.model.checkSchema;
    if (!schema) {
      return checkLine(1, this.noCache.checked);
    }
    const values = this.changedCheckOptions();
    if (this.noCache.checked) {
      values.use_cache = false;
    }
    return checkLineFor(schema, values);
  }

  private renderCheck(): void {
    const s = this.checkSection;
    s.textContent = '';
    const state = this.model.current;
    if (this.model.phase !== 'ready' || !state) {
      s.hidden = true;
      return;
    }
    s.hidden = false;
    s.appendChild(el('h3', 'jp-deploy-heading', 'Repeatability'));
    const run = button('Check repeatability', 'jp-deploy-primary jp-deploy-run-check', () => {
      const options = this.checkOptions();
      if (options !== null) {
        void this.model.check(() => this.host.save(), 1, this.noCache.checked, options);
      }
    });
    s.appendChild(run);
    const row = el('div', 'jp-deploy-field jp-deploy-field-inline');
    this.noCache.type = 'checkbox';
    this.noCache.id = 'jp-deploy-no-cache';
    this.noCache.className = 'jp-deploy-input';
    const label = flagLabel('Re-run even if unchanged (--no-cache)', this.noCache.id);
    row.appendChild(this.noCache);
    row.appendChild(label);
    s.appendChild(row);
    const job = state.check;
    const active = state.active && state.active.action === 'check' ? state.active : null;
    const form = this.checkOptionsForm();
    if (form) {
      s.appendChild(form.node);
    }
    const line = this.magicRow(active?.magic || this.checkMagic());
    this.noCache.onchange = () => this.renderCheck();
    s.appendChild(line);
    if (active) {
      s.appendChild(el('div', 'jp-deploy-muted jp-deploy-saved-note',
        'The notebook was saved first: the check re-runs the file on disk.'));
      s.appendChild(this.progress(active));
      return;
    }
    if (state.error && state.errorAction === 'check') {
      s.appendChild(this.errorBox(state.error));
    }
    if (!job) {
      return;
    }
    if (job.state === 'failed' && job.error) {
      s.appendChild(this.errorBox(job.error));
      return;
    }
    if (job.state === 'cancelled') {
      s.appendChild(el('div', 'jp-deploy-muted', 'The check was cancelled.'));
      return;
    }
    const result = job.result || {};
    const verdict = String(result.verdict || 'unknown');
    const badge = el(
      'div',
      'jp-deploy-verdict ' + verdictClass(verdict),
      VERDICT_TEXT[verdict] || verdict
    );
    badge.setAttribute('role', 'status');
    badge.dataset.verdict = verdict;
    s.appendChild(badge);
    const meta = [];
    if (result.cached) {
      meta.push('from the cache (notebook unchanged)');
    }
    if (typeof result.duration === 'number') {
      meta.push(`${result.duration.toFixed(1)} s`);
    }
    if (meta.length) {
      s.appendChild(el('div', 'jp-deploy-muted', meta.join(' · ')));
    }
    const reasons: string[] = result.reasons || [];
    if (reasons.length) {
      const ul = el('ul', 'jp-deploy-reasons');
      for (const r of reasons) {
        ul.appendChild(el('li', '', r));
      }
      s.appendChild(ul);
    }
    const handler = handlerNote(result.handler);
    if (handler) {
      s.appendChild(handler);
    }
    const findings: IFinding[] = result.findings || [];
    if (findings.length) {
      s.appendChild(el('h4', 'jp-deploy-subheading', `Findings (${findings.length})`));
      const list = el('ul', 'jp-deploy-findings');
      for (const f of findings) {
        list.appendChild(this.findingItem(f));
      }
      s.appendChild(list);
    }
  }

  private findingItem(f: IFinding): HTMLElement {
    const li = el('li', `jp-deploy-finding jp-deploy-sev-${f.severity || 'info'}`);
    li.dataset.kind = f.kind;
    const cell = findingCell(f);
    const text = `${f.message}`;
    if (cell !== null) {
      const where = cellLabel(f);
      const b = button(text, 'jp-deploy-finding-link', () => this.host.gotoCell(cell),
        `Go to ${where}: ${f.message}`);
      b.dataset.cell = String(cell);
      b.prepend(el('span', 'jp-deploy-cell-badge', where));
      li.appendChild(b);
    } else {
      li.appendChild(el('div', 'jp-deploy-finding-text', text));
    }
    if (f.hint) {
      li.appendChild(el('div', 'jp-deploy-help', f.hint));
    }
    if (hasDiff(f)) {
      li.appendChild(
        button('Show diff', 'jp-deploy-secondary jp-deploy-show-diff', () => this.host.openDiff(f),
          'Show the saved and the clean output side by side')
      );
    }
    return li;
  }

  private progress(job: IJob): HTMLElement {
    const box = el('div', 'jp-deploy-progress');
    const p = job.progress || { stage: '', done: 0, total: 0, message: '' };
    const bar = el('progress', 'jp-deploy-progress-bar');
    const frac = fraction(p.done, p.total);
    bar.max = 1;
    if (frac !== null) {
      bar.value = frac;
    } else {
      bar.removeAttribute('value'); // indeterminate
    }
    bar.setAttribute(
      'aria-label',
      `${job.action} progress` + (p.total ? `: ${p.done} of ${p.total}` : '')
    );
    box.appendChild(bar);
    const label = p.total ? `${p.stage}: ${p.done}/${p.total}` : p.stage;
    box.appendChild(
      el('div', 'jp-deploy-progress-text', `${label}${p.message ? ' — ' + p.message : ''}`)
    );
    if (job.id) {
      box.appendChild(
        button('Cancel', 'jp-deploy-secondary jp-deploy-cancel', () => void this.model.cancel())
      );
    }
    return box;
  }

  // ------------------------------------------------------------------------ deploy job

  private renderJob(): void {
    const s = this.jobSection;
    s.textContent = '';
    const state = this.model.current;
    if (this.model.phase !== 'ready' || !state) {
      s.hidden = true;
      return;
    }
    const active = state.active && state.active.action === 'deploy' ? state.active : null;
    const job = active || state.deploy;
    const err = state.errorAction === 'deploy' ? state.error : null;
    if (!job && !err) {
      s.hidden = true;
      return;
    }
    s.hidden = false;
    // Show the deploy next to the card that started it, so its result is where the user is.
    this.placeJobSection(job?.target || this.lastDeployTarget);
    if (err) {
      s.appendChild(this.errorBox(err));
    }
    if (!job) {
      this.reveal('error:' + err?.message);
      return;
    }
    s.appendChild(el('h4', 'jp-deploy-subheading', `Deploy: ${job.target}`));
    if (active) {
      s.appendChild(this.progress(active));
      this.reveal('active:' + active.id);
      return;
    }
    this.reveal('done:' + job.id + job.state);
    if (job.state === 'cancelled') {
      s.appendChild(el('div', 'jp-deploy-muted', 'The deploy was cancelled.'));
    } else if (job.state === 'failed' && job.error) {
      s.appendChild(this.errorBox(job.error));
      const findings = (job.error.details?.findings as IFinding[]) || [];
      if (findings.length) {
        const list = el('ul', 'jp-deploy-findings');
        for (const f of findings) {
          list.appendChild(this.findingItem(f));
        }
        s.appendChild(list);
      }
    }
    const r = job.result;
    if (r) {
      const ok = r.status === 'ok';
      const head = el('div', 'jp-deploy-verdict ' + (ok ? 'jp-deploy-ok' : 'jp-deploy-bad'),
        ok ? 'Deployed' : 'Deployed, but a proof failed');
      head.setAttribute('role', 'status');
      s.appendChild(head);
      if (r.summary) {
        s.appendChild(el('div', 'jp-deploy-summary', r.summary));
      }
      const dl = el('dl', 'jp-deploy-result');
      const add = (k: string, v: unknown) => {
        if (v === null || v === undefined || v === '') {
          return;
        }
        dl.appendChild(el('dt', '', k));
        const dd = el('dd');
        if (isLink(v)) {
          const a = el('a', '', v);
          a.href = v;
          a.target = '_blank';
          a.rel = 'noopener';
          dd.appendChild(a);
        } else {
          dd.appendChild(el('code', '', String(v)));
        }
        dl.appendChild(dd);
      };
      add('Destination', r.destination);
      add('Link', r.url);
      add('Verdict', r.verdict + (r.forced ? ' (forced)' : ''));
      s.appendChild(dl);
      if (r.open) {
        s.appendChild(this.openButton(r.open));
      }
      const proofs: IProof[] = r.proofs || [];
      if (proofs.length) {
        s.appendChild(el('h4', 'jp-deploy-subheading', 'Proofs'));
        const ul = el('ul', 'jp-deploy-proofs');
        for (const p of proofs) {
          const li = el('li', p.ok ? 'jp-deploy-ok' : 'jp-deploy-bad');
          li.appendChild(el('span', 'jp-deploy-proof-mark', p.ok ? '✓' : '✗'));
          li.appendChild(el('span', 'jp-deploy-proof-name', p.name));
          if (p.detail) {
            const { headline, rest } = splitHeadline(p.detail, 200);
            li.appendChild(el('span', 'jp-deploy-muted', ' — ' + headline));
            const log = logOf(p.data);
            if (!p.ok && (rest || log)) {
              li.appendChild(this.logToggle(log ? 'Show the log' : 'Show more',
                [rest, log].filter(Boolean).join('\n\n')));
            }
          }
          ul.appendChild(li);
        }
        s.appendChild(ul);
      }
    }
    if (job.magic) {
      s.appendChild(this.magicRow(job.magic));
    }
  }

  private placeJobSection(target: string | null): void {
    const card = target ? this.cards.get(target) : undefined;
    if (card) {
      if (card.toggle.getAttribute('aria-expanded') !== 'true') {
        card.toggle.setAttribute('aria-expanded', 'true');
        card.body.hidden = false;
      }
      if (this.jobSection.parentElement !== card.body) {
        card.body.appendChild(this.jobSection);
      }
    } else if (this.jobSection.previousElementSibling !== this.checkSection) {
      this.checkSection.after(this.jobSection);
    }
  }

  /** Scroll a new state of the deploy into view, once. */
  private reveal(key: string): void {
    if (key === this.revealed) {
      return;
    }
    this.revealed = key;
    const node = this.jobSection;
    if (typeof node.scrollIntoView === 'function') {
      requestAnimationFrame(() => node.scrollIntoView({ block: 'nearest' }));
    }
  }

  // --------------------------------------------------------------------------- targets

  private renderTargets(): void {
    const s = this.targetsSection;
    const m = this.model;
    if (m.phase !== 'ready' || !m.current) {
      s.hidden = true;
      return;
    }
    s.hidden = false;
    // One set of cards per notebook: a form's values belong to the notebook they were typed for.
    const key = m.path + '|' + m.targets.map(t => t.name + JSON.stringify(t.schema)).join('|');
    if (key === this.cardsFor) {
      this.refreshObjects();
      return;
    }
    this.cardsFor = key;
    if (this.jobSection.parentElement !== this.checkSection.parentElement) {
      this.checkSection.after(this.jobSection);
    }
    s.textContent = '';
    this.cards.clear();
    s.appendChild(el('h3', 'jp-deploy-heading', 'Targets'));
    if (!m.targets.length) {
      s.appendChild(el('div', 'jp-deploy-muted', 'No targets are installed.'));
    }
    for (const t of m.targets) {
      const card = this.card(t);
      this.cards.set(t.name, card);
      s.appendChild(card.node);
    }
    this.refreshObjects();
  }

  private card(target: ITarget): ICard {
    const node = el('section', 'jp-deploy-card');
    node.dataset.target = target.name;
    const bodyId = `jp-deploy-card-${target.name}`;
    const toggle = button('', 'jp-deploy-card-toggle', () => {
      const open = toggle.getAttribute('aria-expanded') === 'true';
      toggle.setAttribute('aria-expanded', String(!open));
      body.hidden = open;
    });
    toggle.setAttribute('aria-expanded', 'false');
    toggle.setAttribute('aria-controls', bodyId);
    toggle.appendChild(el('span', 'jp-deploy-card-name', target.name));
    toggle.appendChild(el('span', 'jp-deploy-card-desc', firstSentence(target.description)));
    node.appendChild(toggle);
    const body = el('div', 'jp-deploy-card-body');
    body.id = bodyId;
    body.hidden = true;
    if (firstSentence(target.description) !== target.description.trim()) {
      body.appendChild(el('p', 'jp-deploy-card-about', target.description));
    }
    const state = this.model.current;
    const draft = state?.drafts[target.name];
    const form = new SchemaForm(target.schema, {
      objects: state?.objects || [],
      initial: draft?.values,
      id: target.name
    });
    body.appendChild(form.node);
    const toRow = el('div', 'jp-deploy-field');
    const toId = `${bodyId}-to`;
    const toLabel = el('label', '', 'Destination (--to)');
    toLabel.htmlFor = toId;
    const to = el('input', 'jp-deploy-input');
    to.id = toId;
    to.type = 'text';
    to.value = draft?.to || '';
    to.placeholder = target.default_backend
      ? `default: ${target.default_backend}`
      : 'a folder, URL, …';
    // The one destination: what it means for this target (--registry / --out are the same).
    to.title = target.destination_help || '';
    toRow.appendChild(toLabel);
    toRow.appendChild(to);
    body.appendChild(toRow);
    const forceRow = el('div', 'jp-deploy-field jp-deploy-field-inline');
    const force = el('input', 'jp-deploy-input');
    force.type = 'checkbox';
    force.id = `${bodyId}-force`;
    const forceLabel = flagLabel('Deploy even if not repeatable (--force)', force.id);
    forceRow.appendChild(force);
    forceRow.appendChild(forceLabel);
    body.appendChild(forceRow);
    const magic = el('div', 'jp-deploy-magic-preview');
    body.appendChild(magic);
    const deployButton = button(`Deploy ${target.name}`, 'jp-deploy-primary jp-deploy-run-deploy',
      async () => {
        if (!card.form.validate()) {
          return;
        }
        const forced = force.checked;
        // --force is never kept: unticked at once, and confirmed for this deploy only.
        force.checked = false;
        this.renderPreview(card);
        if (forced) {
          const ok = await this.host.confirm(
            `Deploy ${target.name} even if not repeatable?`,
            'The notebook is deployed even if its clean re-run does not reproduce it. The ' +
              'history records the deploy as forced.'
          );
          if (!ok) {
            return;
          }
        }
        this.lastDeployTarget = target.name;
        void this.model.deploy(
          target.name,
          card.form.values(),
          { to: to.value.trim() || null, force: forced },
          () => this.host.save()
        );
      });
    body.appendChild(deployButton);
    node.appendChild(body);
    const card: ICard = { target, node, form, to, force, magic, deployButton, body, toggle };
    const refresh = () => {
      if (state) {
        state.drafts[target.name] = { values: form.values(), to: to.value };
      }
      this.renderPreview(card);
    };
    form.onChange = refresh;
    to.addEventListener('input', refresh);
    force.addEventListener('change', refresh);
    refresh();
    return card;
  }

  private renderPreview(card: ICard): void {
    const line = magicLine(
      card.target.name,
      card.form.values(),
      card.target.schema,
      card.to.value.trim() || null,
      card.force.checked
    );
    card.magic.textContent = '';
    card.magic.appendChild(this.magicRow(line));
  }

  private refreshObjects(): void {
    const objects = this.model.current?.objects || [];
    for (const card of this.cards.values()) {
      card.form.setObjects(objects);
      this.renderPreview(card);
    }
  }

  private updateButtons(): void {
    const busy = !!this.model.current?.active;
    for (const b of Array.from(
      this.node.querySelectorAll<HTMLButtonElement>('.jp-deploy-run-check, .jp-deploy-run-deploy')
    )) {
      b.disabled = busy;
    }
  }

  // --------------------------------------------------------------------------- history

  private renderHistory(): void {
    const s = this.historySection;
    s.textContent = '';
    const state = this.model.current;
    if (this.model.phase !== 'ready' || !state) {
      s.hidden = true;
      return;
    }
    s.hidden = false;
    s.appendChild(el('h3', 'jp-deploy-heading', 'History'));
    if (!state.history.length) {
      s.appendChild(el('div', 'jp-deploy-muted', 'Nothing deployed from this notebook yet.'));
      return;
    }
    const ul = el('ul', 'jp-deploy-history-list');
    for (const r of state.history.slice(0, 50)) {
      ul.appendChild(this.historyItem(r));
    }
    s.appendChild(ul);
  }

  /** The Open action of a deploy result or history record. */
  private openButton(action: IOpenAction): HTMLButtonElement {
    const [text, title] = openLabel(action);
    const b = button(text, 'jp-deploy-secondary jp-deploy-open', () => this.host.open(action), title);
    b.dataset.open = action.kind;
    return b;
  }

  private historyItem(r: IHistoryRecord): HTMLElement {
    const li = el('li', 'jp-deploy-record ' + (r.status === 'ok' ? 'jp-deploy-ok' : 'jp-deploy-bad'));
    li.dataset.action = r.action;
    const head = el('div', 'jp-deploy-record-head');
    head.appendChild(el('span', 'jp-deploy-record-what',
      r.action === 'deploy' ? `${r.target}` : 'check'));
    head.appendChild(el('time', 'jp-deploy-muted', shortTime(r.time)));
    li.appendChild(head);
    const text = r.summary || r.destination || r.verdict || '';
    if (text) {
      li.appendChild(el('div', 'jp-deploy-record-summary', String(text)));
    }
    if (r.url && isLink(r.url)) {
      const a = el('a', '', r.url);
      a.href = r.url;
      a.target = '_blank';
      a.rel = 'noopener';
      li.appendChild(a);
    }
    if (r.open) {
      li.appendChild(this.openButton(r.open));
    }
    if (r.magic) {
      li.appendChild(this.magicRow(String(r.magic)));
    }
    return li;
  }
}

/** The notebook's `%%deploy handler` cell as the check found it (the container's API runs it
 * around the model's predict), or why it cannot serve; null without one. */
export function handlerNote(handler: unknown): HTMLElement | null {
  if (!handler || typeof handler !== 'object') {
    return null;
  }
  const h = handler as { cell?: number; signature?: string; error?: string };
  if (h.error) {
    return el('div', 'jp-deploy-handler jp-deploy-handler-error', `Serving handler: ${h.error}`);
  }
  const where = typeof h.cell === 'number' ? ` (Cell ${h.cell})` : '';
  return el('div', 'jp-deploy-handler jp-deploy-muted',
    `Serving handler${where}: ${h.signature || ''}; the container's API runs it around the ` +
    "model's predict.");
}
