import { execFileSync } from 'node:child_process';
import request from 'supertest';
import { TestApp, startApp } from './support/app';
import { DockerHost, startDockerHost } from './support/docker-host';
import { removeEnvironmentsOf, serviceFiles } from './support/environments';
import { freePort } from './support/net';
import { Scenario } from './support/scenario';

jest.setTimeout(300_000);

/**
 * Docker's CI/CD story, end to end: a push runs in dev; promoted to test, it is deployed there and
 * the stage's automated `verify:` suite runs against the test URL; a tester signs it off; then the
 * same digest — never a rebuild — goes to prod's two hosts, one after the other: this machine's engine
 * over its socket, and a second engine of the test's own over TCP with TLS client certificates.
 */
describe('dev → test (verified, signed off) → prod on two hosts (real services)', () => {
  let t: TestApp;
  let s: Scenario;
  let remote: DockerHost;
  const urls: Record<string, string> = {};
  const pool = '10.225.0.0/16';
  // The main engine's FORWARD policy drops bridged traffic it did not open; the second engine runs
  // without iptables, so its own networks are let through.
  const forward = ['FORWARD', '-s', pool, '-d', pool, '-j', 'ACCEPT'];

  beforeAll(async () => {
    [t, remote] = await Promise.all([
      startApp(),
      startDockerHost({ name: 'story', bridge: 'dk8br', subnet: '172.25.0.1/16', pool, tls: true }),
    ]);
    try {
      execFileSync('iptables', ['-C', ...forward], { stdio: 'ignore' });
    } catch {
      execFileSync('iptables', ['-I', ...forward]);
    }
    s = new Scenario(t);
    await s.user('admin', 'admin', ['admin']);
    await s.user('alice', 'developer', ['read', 'build', 'promote']);
    await s.user('tess', 'developer', ['read', 'promote']);
    await s.register('admin');
    const admin = s.as('admin');
    await request(t.url)
      .put(`/api/v1/projects/${s.slug}/policy`)
      .set(admin)
      .send({
        stages: [
          { name: 'dev', auto: true },
          { name: 'test' },
          { name: 'prod', separationOfDuties: false, signoff: { users: ['tess'] } },
        ],
      })
      .expect(200);
    const hosts: Record<string, string[]> = { dev: ['dev-1'], test: ['test-1'], prod: ['web-1', 'web-2'] };
    for (const [stage, names] of Object.entries(hosts)) {
      const ports = await Promise.all(names.map(() => freePort()));
      urls[stage] = `http://127.0.0.1:${ports[0]}`;
      await request(t.url)
        .put(`/api/v1/projects/${s.slug}/environments/${stage}`)
        .set(admin)
        .send({ url: urls[stage], soak: '1s' })
        .expect(200);
      for (const [i, name] of names.entries()) {
        const host =
          name === 'web-2'
            ? {
                kind: 'tls',
                address: remote.tls!.url,
                tlsCa: remote.tls!.ca,
                tlsCert: remote.tls!.cert,
                key: remote.tls!.key,
              }
            : { kind: 'socket', address: process.env.DOCKER_HOST };
        await request(t.url)
          .post(`/api/v1/projects/${s.slug}/environments/${stage}/hosts`)
          .set(admin)
          .send({ name, ...host, proxyPort: ports[i] })
          .expect(201);
      }
    }
  });

  afterAll(async () => {
    if (t) await removeEnvironmentsOf(t, s.owner, s.name);
    await t?.close();
    s?.remove();
    await remote?.destroy();
    try {
      execFileSync('iptables', ['-D', ...forward], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  });

  const open = async (url: string) => (await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text()).trim();

  async function environment(stage: string) {
    const envs = await request(t.url).get(`/api/v1/projects/${s.slug}/environments`).set(s.as('alice')).expect(200);
    return (envs.body as { stage: string; environment: Record<string, unknown> }[]).find((e) => e.stage === stage)!
      .environment as {
      lastDeploy: { status: string; digest: string; steps: { name: string; host: string | null; status: string }[] };
    };
  }

  it('verifies in test, waits for the tester, then deploys the same digest to both prod hosts in turn', async () => {
    const digest = await s.pushAndBuild(
      {
        ...serviceFiles('release 1'),
        // The test environment's automated tests, run on its host against the running service.
        '.dockyard.yml': [
          'stages:',
          '  - name: test',
          '    verify:',
          '      - { name: smoke, run: \'wget -q -O - "$SERVICE_URL" | grep -q "release 1"\' }',
        ].join('\n'),
      },
      'alice',
    );
    expect(await open(urls.dev)).toBe('release 1');

    const toTest = await s.promote('alice', digest, 'test').expect(202);
    expect((await s.settled(toTest.body.id, 'alice')).status).toBe('promoted');
    expect(await open(urls.test)).toBe('release 1');
    const tested = await environment('test');
    expect(tested.lastDeploy.steps).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'verify:smoke', status: 'passed' })]),
    );

    // prod waits for the tester's word on what test holds.
    const toProd = await s.promote('alice', digest, 'prod').expect(202);
    expect((await s.promotion(toProd.body.id, 'alice')).status).toBe('waiting');
    await request(t.url)
      .post(`/api/v1/projects/${s.slug}/stages/test/signoff`)
      .set(s.as('tess'))
      .send({ result: 'passes', comment: 'checkout works', digest })
      .expect(201);
    const inProd = await s.settled(toProd.body.id, 'alice');
    expect(inProd).toMatchObject({ status: 'promoted', reason: null });
    expect(await s.stages('alice')).toEqual({ dev: digest, test: digest, prod: digest });

    // The same digest on both hosts, one after the other: every step of web-1 before web-2's first.
    const prod = await environment('prod');
    expect(prod.lastDeploy).toMatchObject({ status: 'succeeded', digest });
    const hosts = prod.lastDeploy.steps.map((step) => step.host).filter((h): h is string => !!h);
    expect(hosts.indexOf('web-2')).toBeGreaterThan(hosts.lastIndexOf('web-1'));
    expect(await open(urls.prod)).toBe('release 1');
    const second = (await request(t.url).get(`/api/v1/projects/${s.slug}/environments`).set(s.as('alice'))).body;
    const web2 = second.find((e: { stage: string }) => e.stage === 'prod').environment.hosts[1];
    expect(await open(`http://127.0.0.1:${web2.proxyPort}`)).toBe('release 1');
  });
});
