import path from 'node:path';
import { Browser, chromium } from 'playwright-core';
import request from 'supertest';
import { DeployRepository, HostStatusRepository } from '@dockyard/db';
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
    // The hosts below are stand-ins whose states the test records: no drift look may overwrite them.
    t = await startApp({ DRIFT_INTERVAL: '1h' });
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

  it('says how many commits a stage has that the next one lacks', async () => {
    // dev gets a new commit; test still holds the first.
    await s.pushAndBuild({ 'app/v': '2' }, 'admin');
    const page = await logIn('alice');
    await page.goto(`${t.url}/projects/${s.slug}`);
    await expect(page.locator('section[data-stage="dev"] .ahead').textContent()).resolves.toBe('1 commit not in test');
    await expect(page.locator('section[data-stage="test"] .ahead').count()).resolves.toBe(0);
  });

  it('shows a build with its test runs and live log, and keeps queues for admins', async () => {
    const page = await logIn('admin');
    const violations: string[] = [];
    page.on('console', (m) => m.text().includes('Content Security Policy') && violations.push(m.text()));
    await page.goto(`${t.url}/projects/${s.slug}`);
    await page.locator('table a').first().click();
    // The log arrives through the page's EventSource (the HTML ships it empty).
    await page.locator('#log', { hasText: 'build passed' }).waitFor({ timeout: 15_000 });
    await expect(page.locator('#log').textContent()).resolves.toContain('pushed');
    // Under the dashboard's Content-Security-Policy its own script and style run, and nothing is refused.
    const whiteSpace = "getComputedStyle(document.getElementById('log')).whiteSpace";
    await expect(page.evaluate(whiteSpace)).resolves.toBe('pre-wrap');
    expect(violations).toEqual([]);
    const board = await page.goto(`${t.url}/admin/queues`);
    expect(board?.status()).toBe(200);
    const bob = await logIn('bob');
    const refused = await bob.goto(`${t.url}/admin/queues`);
    expect(refused?.status()).toBe(403);
  });

  it("shows each stage's environment: its URL, hosts with their state, what runs, the deploy with its live log", async () => {
    const admin = s.as('admin');
    await request(t.url)
      .put(`/api/v1/projects/${s.slug}/environments/test`)
      .set(admin)
      .send({ url: 'http://127.0.0.1:8101/' })
      .expect(200);
    for (const name of ['web-1', 'web-2']) {
      await request(t.url)
        .post(`/api/v1/projects/${s.slug}/environments/test/hosts`)
        .set(admin)
        .send({ name, kind: 'socket', address: 'unix:///var/run/docker.sock' })
        .expect(201);
    }
    const env = await t.prisma.environment.findFirstOrThrow({
      where: { project: { owner: s.owner }, stage: { name: 'test' } },
    });
    const [one, two] = await t.prisma.target.findMany({ where: { environmentId: env.id }, orderBy: { name: 'asc' } });
    // What the drift check records after looking at the hosts.
    const digest = `sha256:${'c'.repeat(64)}`;
    const hosts = t.app.get(HostStatusRepository);
    await hosts.record(one.id, { state: 'in_sync', runningDigest: digest, healthy: true, detail: null }, new Date());
    await hosts.record(
      two.id,
      {
        state: 'drifted',
        runningDigest: digest,
        healthy: true,
        detail: 'web-2 has other variables than recorded (MODE)',
      },
      new Date(),
    );
    const deploy = await t.app
      .get(DeployRepository)
      .create({ environmentId: env.id, kind: 'deploy', repository: s.image, digest, status: 'running' });

    const page = await logIn('alice');
    await page.goto(`${t.url}/projects/${s.slug}`);
    const test = page.locator('section[data-stage="test"] .environment');
    await expect(test.locator('a.env-url').getAttribute('href')).resolves.toBe('http://127.0.0.1:8101/');
    await expect(test.locator('li[data-host="web-1"] .state').textContent()).resolves.toBe('in sync');
    await expect(test.locator('li[data-host="web-2"]').textContent()).resolves.toMatch(
      /drifted\s+web-2 has other variables than recorded \(MODE\)/,
    );
    await expect(test.locator('code.running').textContent()).resolves.toBe('cccccccccccc');
    await expect(test.locator('.deploying a').getAttribute('href')).resolves.toBe(
      `/api/v1/deploys/${deploy.id}/logs?follow=1`,
    );
    // A stage without an environment shows none.
    await expect(page.locator('section[data-stage="prod"] .environment').count()).resolves.toBe(0);
    // Re-converging a drifted host is an admin's button.
    await expect(page.getByRole('button', { name: 'Re-converge test' }).count()).resolves.toBe(0);
    const root = await logIn('admin');
    await root.goto(`${t.url}/projects/${s.slug}`);
    await root.getByRole('button', { name: 'Re-converge test' }).click();
    await root.waitForURL(/\?msg=/);
    const held = (await s.stages('admin')).test!;
    await expect(root.getByRole('status').textContent()).resolves.toBe(`Re-converging test to ${held.slice(7, 19)}`);
    const audit = await request(t.url).get(`/api/v1/audit?project=${s.slug}`).set(s.as('admin')).expect(200);
    expect(audit.body).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'environment.reconverge', actor: 'admin', via: 'dashboard' }),
      ]),
    );
  });

  it('signs off what a stage holds with the button: "tested: passes" with a comment, shown on the column', async () => {
    const page = await logIn('alice');
    await page.goto(`${t.url}/projects/${s.slug}`);
    const test = page.locator('section[data-stage="test"] .signoff');
    await test.getByLabel('Sign-off comment for test').fill('clicked through the checkout');
    await test.getByRole('button', { name: 'Tested: passes' }).click();
    await page.waitForURL(/msg=/);
    await expect(page.locator('section[data-stage="test"] .signed').textContent()).resolves.toMatch(
      /Tested:\s+passes\s+by\s+alice\s+clicked through the checkout/,
    );
  });
});
