/**
 * jupyter-deploy's JupyterLab extension: a "Deploy" sidebar bound to the active notebook.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, MainAreaWidget, showDialog } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';
import { IFinding, IOpenAction } from './api';
import { DiffView } from './diff';
import { cellSourceFor } from './magic';
import { DeployModel } from './model';
import { DeployPanel } from './panel';

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
<path class="jp-icon3" fill="#616161" d="M12 2c3.3 1.6 5.5 5 5.5 8.8 0 1.3-.3 2.6-.7 3.8l2.2 3.9-3.7-.9-1.5 2.4h-3.6l-1.5-2.4-3.7.9 2.2-3.9c-.5-1.2-.7-2.5-.7-3.8C6.5 7 8.7 3.6 12 2zm0 6a2 2 0 100 4 2 2 0 000-4zm-1.8 13h3.6L12 23.5z"/>
</svg>`;

export const deployIcon = new LabIcon({ name: 'jupyter-deploy:icon', svgstr: ICON_SVG });

export namespace CommandIDs {
  export const open = 'jupyter-deploy:open';
  export const check = 'jupyter-deploy:check';
}

/**
 * Insert `line` as a new code cell below the active cell of `panel`, preceded by
 * `%load_ext jupyter_deploy` when no cell of the notebook loads the extension.
 */
export function insertLine(panel: NotebookPanel, line: string): void {
  const notebook = panel.content;
  const sources: string[] = [];
  const cells = notebook.model?.cells;
  for (let i = 0; cells && i < cells.length; i++) {
    sources.push(cells.get(i).sharedModel.getSource());
  }
  const source = cellSourceFor(line, sources);
  NotebookActions.insertBelow(notebook);
  const cell = notebook.activeCell;
  if (cell) {
    if (cell.model.type !== 'code') {
      NotebookActions.changeCellType(notebook, 'code');
    }
    notebook.activeCell!.model.sharedModel.setSource(source);
  }
}

/** Select and scroll to cell `index`. */
export async function gotoCell(panel: NotebookPanel, index: number): Promise<void> {
  const notebook = panel.content;
  if (index < 0 || index >= notebook.widgets.length) {
    return;
  }
  notebook.deselectAll();
  notebook.activeCellIndex = index;
  notebook.mode = 'command';
  const anyNotebook = notebook as any;
  if (typeof anyNotebook.scrollToItem === 'function') {
    await anyNotebook.scrollToItem(index, 'center');
  } else {
    notebook.scrollToCell(notebook.widgets[index]);
  }
  notebook.activeCell?.node.focus();
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-deploy:sidebar',
  description: 'Check a notebook is repeatable and deploy it, from a sidebar.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    labShell: ILabShell | null
  ) => {
    const model = new DeployModel();
    let diffWidget: MainAreaWidget | null = null;
    const current = () => tracker.currentWidget;
    const panel = new DeployPanel(model, {
      save: async () => {
        const nb = current();
        if (nb) {
          await nb.context.ready;
          await nb.context.save();
        }
      },
      insertLine: (line: string) => {
        const nb = current();
        if (nb) {
          insertLine(nb, line);
          app.shell.activateById(nb.id);
        }
      },
      gotoCell: (index: number) => {
        const nb = current();
        if (nb) {
          app.shell.activateById(nb.id);
          void gotoCell(nb, index);
        }
      },
      confirm: async (title: string, message: string) => {
        const answer = await showDialog({
          title,
          body: message,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Deploy anyway' })]
        });
        return answer.button.accept;
      },
      open: (action: IOpenAction) => {
        if (action.kind === 'lab' && action.folder) {
          void app.commands.execute('filebrowser:go-to-path', { path: '/' + (action.path || '') });
        } else if (action.kind === 'lab') {
          void app.commands.execute('docmanager:open', { path: action.path });
        } else if (action.url) {
          // served read-only by the server extension (outside the root), or a web address
          window.open(action.url, '_blank', 'noopener');
        }
      },
      openDiff: (finding: IFinding) => {
        const content = new DiffView(finding, model.path || '');
        const widget = new MainAreaWidget({ content });
        widget.id = content.id;
        widget.title.label = content.title.label;
        widget.title.closable = true;
        // One diff pane: a new diff takes the place of the last one instead of splitting again.
        if (diffWidget && !diffWidget.isDisposed) {
          app.shell.add(widget, 'main', { mode: 'tab-after', ref: diffWidget.id });
          diffWidget.dispose();
        } else {
          app.shell.add(widget, 'main', { mode: 'split-right' });
        }
        diffWidget = widget;
        app.shell.activateById(widget.id);
      }
    });
    panel.title.icon = deployIcon;
    app.shell.add(panel, 'left', { rank: 650 });
    if (restorer) {
      restorer.add(panel, 'jupyter-deploy-sidebar');
    }

    const follow = () => {
      const nb = current();
      void model.setNotebook(nb ? nb.context.path : null);
    };
    tracker.currentChanged.connect(follow);
    tracker.widgetUpdated.connect(follow);
    // A renamed notebook keeps its panel: follow its new path. When its kernel goes idle after
    // running a cell (perhaps a `%deploy` line), the history may have grown: reload it.
    tracker.widgetAdded.connect((_, nb) => {
      nb.context.pathChanged.connect(follow);
      let busy = false;
      nb.sessionContext.statusChanged.connect((_ctx, status) => {
        if (status === 'busy') {
          busy = true;
        } else if (status === 'idle' && busy) {
          busy = false;
          void model.refreshHistory(nb.context.path);
        }
      });
    });
    if (labShell) {
      labShell.currentChanged.connect(() => {
        if (tracker.currentWidget) {
          follow();
        }
      });
    }

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open the Deploy sidebar',
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.check, {
      label: 'Deploy: check repeatability of the current notebook',
      isEnabled: () => !!current(),
      execute: async () => {
        app.shell.activateById(panel.id);
        await model.check(async () => {
          await current()?.context.save();
        });
      }
    });

    void app.restored.then(() => {
      follow();
      return model.init();
    });
  }
};

export default plugin;
