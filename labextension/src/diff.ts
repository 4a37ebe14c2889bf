/** A side-by-side view of a cell's saved output and its clean re-run's output. */
import { Widget } from '@lumino/widgets';
import { IFinding } from './api';
import { cellLabel } from './findings';

function column(title: string, content: string): HTMLElement {
  const col = document.createElement('div');
  col.className = 'jp-deploy-diff-col';
  const h = document.createElement('h3');
  h.textContent = title;
  col.appendChild(h);
  if (content.startsWith('data:image/')) {
    const img = document.createElement('img');
    img.src = content;
    img.alt = title;
    col.appendChild(img);
  } else {
    const pre = document.createElement('pre');
    pre.textContent = content;
    col.appendChild(pre);
  }
  return col;
}

/** The two sides of a finding: saved/clean, or for nondeterminism run 1/run N. */
export function sides(f: IFinding): [string, string, string, string] {
  if (f.kind === 'nondeterministic') {
    const runs = (f.runs as number[]) || [1, 2];
    return [`Run ${runs[0]}`, String(f.run1 ?? ''), `Run ${runs[1]}`, String(f.run2 ?? '')];
  }
  return ['Saved output', String(f.saved ?? ''), 'Clean re-run', String(f.clean ?? '')];
}

export class DiffView extends Widget {
  constructor(finding: IFinding, notebook: string) {
    super();
    this.addClass('jp-deploy-diff');
    const cell = cellLabel(finding) || 'output';
    this.id = `jp-deploy-diff-${Date.now()}`;
    this.title.label = `Diff: ${notebook.split('/').pop()} ${cell}`;
    this.title.closable = true;
    const msg = document.createElement('p');
    msg.className = 'jp-deploy-diff-message';
    msg.textContent = finding.message;
    this.node.appendChild(msg);
    const [lt, left, rt, right] = sides(finding);
    const cols = document.createElement('div');
    cols.className = 'jp-deploy-diff-cols';
    cols.appendChild(column(lt, left));
    cols.appendChild(column(rt, right));
    this.node.appendChild(cols);
    if (finding.diff) {
      const details = document.createElement('details');
      const summary = document.createElement('summary');
      summary.textContent = 'Unified diff';
      details.appendChild(summary);
      const pre = document.createElement('pre');
      pre.className = 'jp-deploy-udiff';
      for (const line of String(finding.diff).split('\n')) {
        const span = document.createElement('span');
        span.textContent = line + '\n';
        if (line.startsWith('+') && !line.startsWith('+++')) {
          span.className = 'jp-deploy-add';
        } else if (line.startsWith('-') && !line.startsWith('---')) {
          span.className = 'jp-deploy-del';
        }
        pre.appendChild(span);
      }
      details.appendChild(pre);
      details.open = !left && !right;
      this.node.appendChild(details);
    }
    this.node.tabIndex = 0;
  }
}
