import path from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { TestApp, startApp } from './support/app';
import { SCRATCH_DOCKERFILE } from './support/git-repo';
import { Scenario } from './support/scenario';

jest.setTimeout(180_000);

/** The dashboard in a real headless Chromium (Debian's), driven by playwright-core. */
describe('dashboard in headless Chromium', () => {
  let t: TestApp;
  let s: Scenario;
  let browser: Browser;
  const PASSWORD = 'a long enough password';

  beforeAll(async () => {
    t = await startApp();
    s = new Scenario(t);
    await s.user('admin', 'admin', ['admin'], PASSWORD);
    await s.user('alice', 'approver', ['read', 'promote'], PASSWORD);
    await s.user('bob', 'approver', ['read', 'approve'], PASSWORD);
    await s.register('admin');
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      // playwright gives each launch a fresh, empty profile of its own.
    });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    s?.remove();
  });

  async function logIn(login: string) {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${t.url}/`);
    await page.waitForURL(/\/login$/);
    await page.getByLabel('Login').fill(login);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${t.url}/`);
    return page;
  }

  it('logs in, approves a waiting promotion, and shows the prod column change', async () => {
    const digest = await s.pushAndBuild(
      { Dockerfile: SCRATCH_DOCKERFILE, 'app/v': '1', '.dockyard.yml': `image: ${s.image}\n` },
      'admin',
    );
    await s.settled((await s.promote('alice', digest, 'test').expect(201)).body.id, 'admin');
    const waiting = await s.promote('alice', digest, 'prod').expect(202);

    // The requester sees the button, disabled, with the reason.
    const alice = await logIn('alice');
    await alice.goto(`${t.url}/projects/${s.slug}`);
    const aliceProd = alice.locator('section[data-stage="prod"]');
    await expect(aliceProd.getByRole('button', { name: /Approve/ }).isDisabled()).resolves.toBe(true);
    await expect(aliceProd.locator('.why').textContent()).resolves.toBe(
      'alice requested this promotion and may not approve it',
    );

    const bob = await logIn('bob');
    await bob.getByRole('link', { name: s.slug }).click();
    const prod = bob.locator('section[data-stage="prod"]');
    await expect(prod.textContent()).resolves.toContain('Empty');
    await prod.getByRole('button', { name: /Approve/ }).click();
    await bob.waitForURL(/\?msg=/);
    await expect(bob.getByRole('status').textContent()).resolves.toBe('Approved: prod promotion is promoted');
    await expect(prod.locator('code.digest').textContent()).resolves.toBe(digest.slice(7, 19));
    await bob.screenshot({
      path: path.join(process.env.DOCKYARD_DATA_DIR ?? '.dockyard', 'dashboard-e2e.png'),
      fullPage: true,
    });
    expect((await s.stages('admin')).prod).toBe(digest);
    expect((await s.promotion(waiting.body.id, 'admin')).approvals).toEqual([
      expect.objectContaining({ by: 'bob', via: 'dashboard' }),
    ]);
  });

  it('shows a build with its test runs and live log, and keeps queues for admins', async () => {
    const page = await logIn('admin');
    await page.goto(`${t.url}/projects/${s.slug}`);
    await page.locator('table a').first().click();
    // The log arrives through the page's EventSource (the HTML ships it empty).
    await page.locator('#log', { hasText: 'build passed' }).waitFor({ timeout: 15_000 });
    await expect(page.locator('#log').textContent()).resolves.toContain('pushed');
    const board = await page.goto(`${t.url}/admin/queues`);
    expect(board?.status()).toBe(200);
    const bob = await logIn('bob');
    const refused = await bob.goto(`${t.url}/admin/queues`);
    expect(refused?.status()).toBe(403);
  });
});
