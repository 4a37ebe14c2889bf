/**
 * The whole flow by clicking, in a real Chromium: open a demo notebook, check it from the
 * sidebar, see the verdict, land on a finding's cell, open an output diff, insert the
 * equivalent line, deploy a model and see it in the history, and a failing deploy's hint.
 * Screenshots of each state go to $JD_UI_SHOTS (test-artifacts/ui/ from pytest).
 */
import { expect, galata, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

const SHOTS = process.env.JD_UI_SHOTS || path.join(__dirname, '..', 'test-results', 'shots');
const METRICS = path.join(SHOTS, 'metrics.json');
fs.mkdirSync(SHOTS, { recursive: true });

function metric(name: string, value: number) {
  let data: Record<string, number> = {};
  try {
    data = JSON.parse(fs.readFileSync(METRICS, 'utf-8'));
  } catch {
    data = {};
  }
  data[name] = Math.round(value * 10) / 10;
  fs.writeFileSync(METRICS, JSON.stringify(data, null, 1));
}

const SIDEBAR = '#jp-deploy-sidebar';

async function shot(page: IJupyterLabPageFixture, name: string) {
  await page.locator(SIDEBAR).screenshot({ path: path.join(SHOTS, `sidebar-${name}.png`) });
}

// Console errors from our code fail the test; JupyterLab's own noise is listed, not fatal.
function watchConsole(page: IJupyterLabPageFixture): string[] {
  const errors: string[] = [];
  page.on('console', msg => {
    if (msg.type() === 'error') {
      errors.push(msg.text());
    }
  });
  page.on('pageerror', err => errors.push(String(err)));
  return errors;
}

function ours(errors: string[]): string[] {
  return errors.filter(e => /deploy/i.test(e));
}

const NOTEBOOKS = process.env.JD_NOTEBOOKS || path.join(__dirname, '..', '..', '..', 'binder');

async function openNotebookAndSidebar(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  name: string
) {
  // Galata gives each test its own folder on the server: put the demo notebooks there.
  for (const file of fs.readdirSync(NOTEBOOKS)) {
    if (file.endsWith('.ipynb')) {
      await page.contents.uploadFile(path.join(NOTEBOOKS, file), `${tmpPath}/${file}`);
    }
  }
  if (fs.existsSync(path.join(NOTEBOOKS, 'data'))) {
    await page.contents.uploadDirectory(path.join(NOTEBOOKS, 'data'), `${tmpPath}/data`);
  }
  await page.filebrowser.refresh();
  await page.notebook.openByPath(`${tmpPath}/${name}`);
  await page.notebook.activate(name);
  const t0 = await page.evaluate(() => performance.now());
  const wall0 = Date.now();
  await page.sidebar.openTab('jp-deploy-sidebar' as any);
  await expect(page.locator(`${SIDEBAR} .jp-deploy-notebook`)).toHaveText(name);
  await expect(page.locator(`${SIDEBAR} .jp-deploy-notebook`)).toHaveAttribute(
    'data-path',
    `${tmpPath}/${name}`
  );
  await expect(page.locator(`${SIDEBAR} .jp-deploy-card`).first()).toBeVisible();
  const wall = Date.now() - wall0;
  const painted = await page
    .locator(SIDEBAR)
    .getAttribute('data-first-paint', { timeout: 5000 })
    .catch(() => null);
  return { firstPaint: painted ? Number(painted) - t0 : null, ready: wall };
}

async function activeCellIndex(page: IJupyterLabPageFixture): Promise<number> {
  return page.evaluate(() => {
    const shell = (window as any).jupyterapp.shell;
    const widgets = Array.from(shell.widgets('main')) as any[];
    const nb = widgets.find(w => w.content && w.content.activeCellIndex !== undefined &&
      w.context && w.context.path.endsWith('.ipynb') && w.isVisible);
    return nb ? nb.content.activeCellIndex : -1;
  });
}

async function activeCellSource(page: IJupyterLabPageFixture): Promise<string> {
  return page.evaluate(() => {
    const shell = (window as any).jupyterapp.shell;
    const widgets = Array.from(shell.widgets('main')) as any[];
    const nb = widgets.find(w => w.content && w.content.activeCell && w.isVisible);
    return nb ? nb.content.activeCell.model.sharedModel.getSource() : '';
  });
}

async function runCheck(page: IJupyterLabPageFixture) {
  await page.locator(`${SIDEBAR} .jp-deploy-run-check`).click();
  return page.locator(`${SIDEBAR} .jp-deploy-check .jp-deploy-verdict`);
}

test.describe.serial('jupyter-deploy sidebar', () => {
  test.use({ autoGoto: true });

  test('check a notebook with defects: verdict, findings, cells, diff, inserted line', async ({
    page,
    tmpPath
  }) => {
    const errors = watchConsole(page);
    const timing = await openNotebookAndSidebar(page, tmpPath, 'defects-demo.ipynb');
    if (timing.firstPaint !== null) {
      metric('sidebar_first_paint_ms', timing.firstPaint);
    }
    metric('sidebar_ready_ms', timing.ready);
    await shot(page, '1-ready');

    const verdict = await runCheck(page);
    // progress while the clean run goes
    await expect(page.locator(`${SIDEBAR} .jp-deploy-check .jp-deploy-progress`)).toBeVisible();
    await expect(page.locator(`${SIDEBAR} .jp-deploy-run-check`)).toBeDisabled();
    await shot(page, '2-checking');
    await expect(verdict).toHaveText('Not repeatable', { timeout: 180000 });
    await expect(verdict).toHaveAttribute('data-verdict', 'not-repeatable');
    const findings = page.locator(`${SIDEBAR} .jp-deploy-check .jp-deploy-finding`);
    expect(await findings.count()).toBeGreaterThanOrEqual(3);
    await shot(page, '3-verdict');
    await page.screenshot({ path: path.join(SHOTS, 'lab-verdict.png') });

    // clicking a finding selects its cell and scrolls to it
    const wallClock = page.locator(`${SIDEBAR} .jp-deploy-finding[data-kind="wall-clock"] button.jp-deploy-finding-link`);
    const cell = Number(await wallClock.getAttribute('data-cell'));
    expect(cell).toBeGreaterThan(0);
    await wallClock.click();
    await expect.poll(() => activeCellIndex(page)).toBe(cell);
    const activeCell = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-mod-active');
    await expect(activeCell).toBeInViewport();
    await expect(activeCell).toContainText('datetime.date.today()');

    // the output difference opens a side-by-side diff
    await page
      .locator(`${SIDEBAR} .jp-deploy-finding[data-kind="output-diff"] .jp-deploy-show-diff`)
      .first()
      .click();
    const diff = page.locator('.jp-deploy-diff');
    await expect(diff).toBeVisible();
    await expect(diff.locator('.jp-deploy-diff-col h3')).toHaveText(['Saved output', 'Clean re-run']);
    await expect(diff.locator('.jp-deploy-diff-col pre').first()).toContainText('0.72');
    await diff.screenshot({ path: path.join(SHOTS, 'diff-output.png') });
    await page.notebook.activate('defects-demo.ipynb');

    // the equivalent line goes into a new cell below the active one
    await wallClock.click();
    await expect.poll(() => activeCellIndex(page)).toBe(cell);
    const before = await page.notebook.getCellCount();
    await page.locator(`${SIDEBAR} .jp-deploy-check .jp-deploy-insert`).click();
    await expect.poll(() => page.notebook.getCellCount()).toBe(before + 1);
    await expect.poll(() => activeCellIndex(page)).toBe(cell + 1);
    expect(await activeCellSource(page)).toBe('%deploy check');

    // keyboard: the check button is reachable and shows a focus ring
    await page.locator(`${SIDEBAR} .jp-deploy-run-check`).focus();
    await expect(page.locator(`${SIDEBAR} .jp-deploy-run-check`)).toBeFocused();

    // dark theme
    await page.theme.setDarkTheme();
    await shot(page, '4-verdict-dark');
    await page.theme.setLightTheme();
    expect(ours(errors)).toEqual([]);
    console.log('console errors (not ours):', JSON.stringify(errors));
  });

  test('deploy a model: proofs, result, history, and a failing deploy shows its hint', async ({
    page,
    tmpPath
  }) => {
    const errors = watchConsole(page);
    await openNotebookAndSidebar(page, tmpPath, 'model-demo.ipynb');
    const verdict = await runCheck(page);
    await expect(verdict).toHaveText('Repeatable', { timeout: 180000 });

    const card = page.locator(`${SIDEBAR} .jp-deploy-card[data-target="model"]`);
    await card.locator('.jp-deploy-card-toggle').click();
    await expect(card.locator('.jp-deploy-card-toggle')).toHaveAttribute('aria-expanded', 'true');
    // the model and sample pickers are filled from the clean run's objects
    const variable = card.locator('select[name="var"]');
    await expect(variable).toHaveValue('clf');
    await card.locator('select[name="sample"]').selectOption('X_sample');
    await card.locator('input[name="name"]').fill('churn-ui');
    await expect(card.locator('.jp-deploy-magic-line')).toHaveText(
      '%deploy model clf --name churn-ui --sample X_sample'
    );
    await shot(page, '5-model-form');

    // a failing deploy shows the server's message and hint
    await card.locator('input[name="name"]').fill('bad name!');
    await card.locator('.jp-deploy-run-deploy').click();
    const error = page.locator(`${SIDEBAR} .jp-deploy-job .jp-deploy-error`);
    await expect(error).toBeVisible({ timeout: 180000 });
    await expect(error.locator('.jp-deploy-error-hint')).not.toBeEmpty();
    await shot(page, '6-deploy-failed');

    // a good deploy: progress, then the result with its proofs, then the history
    await card.locator('input[name="name"]').fill('churn-ui');
    await card.locator('.jp-deploy-run-deploy').click();
    const result = page.locator(`${SIDEBAR} .jp-deploy-job .jp-deploy-verdict`);
    await expect(result).toHaveText('Deployed', { timeout: 240000 });
    await expect(page.locator(`${SIDEBAR} .jp-deploy-proofs li`).first()).toBeVisible();
    expect(await page.locator(`${SIDEBAR} .jp-deploy-proofs li.jp-deploy-bad`).count()).toBe(0);
    await expect(page.locator(`${SIDEBAR} .jp-deploy-job .jp-deploy-magic-line`)).toContainText(
      '%deploy model clf --name churn-ui --sample X_sample'
    );
    const record = page.locator(`${SIDEBAR} .jp-deploy-record[data-action="deploy"]`).first();
    await expect(record).toBeVisible();
    await expect(record).toContainText('model');
    await expect(record).toContainText(/churn-ui.*v1|v1.*churn-ui|version 1/);
    await shot(page, '7-deployed');
    await page.screenshot({ path: path.join(SHOTS, 'lab-deployed.png') });
    expect(ours(errors)).toEqual([]);
  });
});
