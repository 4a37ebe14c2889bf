/**
 * Galata on Debian's Chromium (never `playwright install`): see ../../../shared/ENVIRONMENT.md.
 * Run through tests/ui/test_galata.py, which prepares the server's root and reports to pytest.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const port = process.env.JD_UI_PORT || '8888';
const jupyter = process.env.JD_JUPYTER || 'jupyter';

module.exports = {
  ...baseConfig,
  reporter: [['list'], ['json', { outputFile: process.env.JD_UI_REPORT || 'test-results/report.json' }]],
  timeout: 240000,
  retries: 0,
  workers: 1,
  outputDir: process.env.JD_UI_OUTPUT || 'test-results',
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${port}`,
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    }
  },
  webServer: {
    command: `${jupyter} lab --config jupyter_server_test_config.py --allow-root`,
    url: `http://localhost:${port}/lab`,
    timeout: 120000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe'
  }
};
