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

/**
 * WCAG contrast ratio between the text colour of `selector` and the background it is drawn on
 * (the first non-transparent background up its ancestors), as the browser computed them.
 */
async function contrast(page: IJupyterLabPageFixture, selector: string): Promise<number> {
  return page.evaluate(sel => {
    const node = document.querySelector(sel) as HTMLElement | null;
    if (!node) {
      return -1;
    }
    const rgba = (css: string): number[] => {
      const nums = (css.match(/[\d.]+/g) || []).map(Number);
      if (css.startsWith('color(')) {
        return [nums[0] * 255, nums[1] * 255, nums[2] * 255, nums.length > 3 ? nums[3] : 1];
      }
      return [nums[0], nums[1], nums[2], nums.length > 3 ? nums[3] : 1];
    };
    const lum = (c: number[]) => {
      const [r, g, b] = c.slice(0, 3).map(v => {
        const x = v / 255;
        return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const fg = rgba(getComputedStyle(node).color);
    let bg = [255, 255, 255, 1];
    for (let el: HTMLElement | null = node; el; el = el.parentElement) {
      const c = rgba(getComputedStyle(el).backgroundColor);
      if (c[3] > 0.5) {
        bg = c;
        break;
      }
    }
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  }, selector);
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
    // it names the cell as JupyterLab numbers it (from 1, markdown counted), with its saved count
    await expect(wallClock.locator('.jp-deploy-cell-badge')).toHaveText(
      new RegExp(`^Cell ${cell + 1}( \\[\\d+\\])?$`));
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
    // defects-demo never loads the extension: the inserted cell does, so it runs
    expect(await activeCellSource(page)).toBe('%load_ext jupyter_deploy\n%deploy check');

    // keyboard: the check button is reachable and shows a focus ring
    await page.locator(`${SIDEBAR} .jp-deploy-run-check`).focus();
    await expect(page.locator(`${SIDEBAR} .jp-deploy-run-check`)).toBeFocused();

    // dark theme: the verdict badge and the findings stay readable (WCAG AA, 4.5:1)
    await page.theme.setDarkTheme();
    await shot(page, '4-verdict-dark');
    await page.screenshot({ path: path.join(SHOTS, 'lab-verdict-dark.png') });
    expect(await contrast(page, `${SIDEBAR} .jp-deploy-check .jp-deploy-verdict`)).toBeGreaterThan(4.5);
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
    // the sample picker offers only frames with clf's features: not the labels, not the frame
    // holding the target column (customers)
    const samples = await card.locator('select[name="sample"] option').evaluateAll(
      opts => opts.map(o => (o as HTMLOptionElement).value).filter(v => v));
    expect(samples.sort()).toEqual(['X_sample', 'X_test', 'X_train']);
    await card.locator('select[name="sample"]').selectOption('X_sample');
    // its text is not cut: the select is as wide as the card and tall enough for its text
    const clipped = await card.locator('select[name="sample"]').evaluate(el => {
      const s = el as HTMLSelectElement;
      const cs = getComputedStyle(s);
      return s.clientHeight < parseFloat(cs.fontSize) * 1.2 || s.getBoundingClientRect().width < 120;
    });
    expect(clipped).toBe(false);
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
    // readable in both themes (white text on pastel pink was not)
    expect(await contrast(page, `${SIDEBAR} .jp-deploy-job .jp-deploy-error-message`)).toBeGreaterThan(4.5);
    await page.theme.setDarkTheme();
    expect(await contrast(page, `${SIDEBAR} .jp-deploy-job .jp-deploy-error-message`)).toBeGreaterThan(4.5);
    expect(await contrast(page, `${SIDEBAR} .jp-deploy-job .jp-deploy-error-hint`)).toBeGreaterThan(4.5);
    await shot(page, '6-deploy-failed-dark');
    await page.theme.setLightTheme();

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
    // Open: the registry version is outside JupyterLab's folder, so the server extension shows
    // it read-only in a new tab
    const open = page.locator(`${SIDEBAR} .jp-deploy-job .jp-deploy-open`);
    await expect(open).toHaveAttribute('data-open', 'served');
    const [tab] = await Promise.all([page.context().waitForEvent('page'), open.click()]);
    await tab.waitForLoadState();
    await expect(tab.locator('body')).toContainText('Written by jupyter-deploy');
    await expect(tab.locator('body')).toContainText('metadata.json');
    await tab.close();
    expect(ours(errors)).toEqual([]);
  });

  test('two notebooks: forms and --force stay with their notebook; the line shown runs', async ({
    page,
    tmpPath
  }) => {
    const errors = watchConsole(page);
    await openNotebookAndSidebar(page, tmpPath, 'model-demo.ipynb');
    // the file browser is hidden behind the sidebar: open the second notebook by command
    await page.evaluate(async p => {
      await (window as any).jupyterapp.commands.execute('docmanager:open', { path: p });
    }, `${tmpPath}/defects-demo.ipynb`);
    await expect(page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)')).toHaveCount(1);
    await expect(page.locator(`${SIDEBAR} .jp-deploy-notebook`)).toHaveText('defects-demo.ipynb');
    await page.notebook.activate('model-demo.ipynb');
    await expect(page.locator(`${SIDEBAR} .jp-deploy-notebook`)).toHaveText('model-demo.ipynb');
    const card = page.locator(`${SIDEBAR} .jp-deploy-card[data-target="container"]`);
    await card.locator('.jp-deploy-card-toggle').click();
    await card.locator('input[name="name"]').fill('churn');
    // "Build image" is the --build flag: the line shown is one the magic accepts
    await card.locator('.jp-deploy-field[data-name="build_image"] input').check();
    await card.locator('input[id$="-force"]').check();
    const line = card.locator('.jp-deploy-magic-preview .jp-deploy-magic-line');
    await expect(line).toContainText('--name churn');
    await expect(line).toContainText('--build');
    await expect(line).not.toContainText('--build-image');
    await expect(line).toContainText('--force');

    // the other notebook starts from its own, empty form, never forced
    await page.notebook.activate('defects-demo.ipynb');
    await expect(page.locator(`${SIDEBAR} .jp-deploy-notebook`)).toHaveText('defects-demo.ipynb');
    const other = page.locator(`${SIDEBAR} .jp-deploy-card[data-target="container"]`);
    await other.locator('.jp-deploy-card-toggle').click();
    await expect(other.locator('input[name="name"]')).toHaveValue('');
    await expect(other.locator('input[id$="-force"]')).not.toBeChecked();
    await expect(other.locator('.jp-deploy-field[data-name="build_image"] input')).not.toBeChecked();
    await shot(page, '8-other-notebook');

    // back again: what was typed there is restored, --force is not
    await page.notebook.activate('model-demo.ipynb');
    await expect(page.locator(`${SIDEBAR} .jp-deploy-notebook`)).toHaveText('model-demo.ipynb');
    const back = page.locator(`${SIDEBAR} .jp-deploy-card[data-target="container"]`);
    await back.locator('.jp-deploy-card-toggle').click();
    await expect(back.locator('input[name="name"]')).toHaveValue('churn');
    await expect(back.locator('.jp-deploy-field[data-name="build_image"] input')).toBeChecked();
    await expect(back.locator('input[id$="-force"]')).not.toBeChecked();
    expect(ours(errors)).toEqual([]);
  });
});
