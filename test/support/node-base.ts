import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUSYBOX } from './git-repo';

/** Debian's docker CLI, which speaks BuildKit to dockerd 20.10 (a newer one on PATH may not). */
export const DOCKER_CLI = '/usr/bin/docker';

/** Run the docker CLI against the test engine; resolves with its output, rejects with its tail. */
export function dockerCli(args: string[], opts: { cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(DOCKER_CLI, args, { cwd: opts.cwd, env: { ...process.env, DOCKER_BUILDKIT: '1' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`docker ${args.slice(0, 2).join(' ')} exited ${code}:\n${output.slice(-4000)}`)),
    );
  });
}

const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** The glibc builds of the native addons npm installed here (swc, msgpackr, ssh2): the image gets the same. */
function nativeAddons(): string[] {
  const root = path.resolve(__dirname, '../../node_modules');
  return execFileSync('find', [root, '-name', '*.node', '-not', '-name', '*musl*'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

/** The shared libraries `ldd` names for a binary (the loader included). */
function librariesOf(binary: string): string[] {
  return execFileSync('ldd', [binary], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1])
    .filter((lib): lib is string => !!lib);
}

/**
 * A Node 20 base image made of this machine's own files, as no image can be pulled here: the host's
 * node and npm, git (workers fetch with it), a static busybox for /bin/sh, the libraries `ldd` names,
 * the host's CA certificates, and a `node` user (uid 1000) as the official node images have. Built once
 * per node version and inputs.
 */
export async function nodeBaseImage(): Promise<string> {
  const binaries = ['/usr/bin/node', '/usr/bin/git'];
  const libraries = [...binaries, ...nativeAddons()].flatMap(librariesOf);
  const files = [...new Set([...binaries, ...libraries])];
  const recipe = createHash('sha256');
  // The tag names its inputs: the files taken from the host, and this recipe itself.
  for (const file of [...files, BUSYBOX, CA_BUNDLE, __filename]) recipe.update(file).update(readFileSync(file));
  const tag = `dockyard-test-node-base:${process.versions.node}-${recipe.digest('hex').slice(0, 12)}`;
  if (
    await dockerCli(['image', 'inspect', tag]).then(
      () => true,
      () => false,
    )
  )
    return tag;

  const context = mkdtempSync(path.join(tmpdir(), 'dockyard-node-base-'));
  try {
    const root = path.join(context, 'rootfs');
    for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'usr/local/bin', 'usr/lib/git-core', 'etc', 'tmp']) {
      mkdirSync(path.join(root, dir), { recursive: true });
    }
    for (const file of files) cpSync(file, path.join(root, file), { dereference: true });
    cpSync(BUSYBOX, path.join(root, 'bin/busybox'));
    cpSync('/usr/lib/node_modules/npm', path.join(root, 'usr/lib/node_modules/npm'), { recursive: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(root, 'usr/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', path.join(root, 'usr/bin/npx'));
    // `git fetch` from a path runs git-upload-pack: git's builtin, named by argv[0].
    symlinkSync('/usr/bin/git', path.join(root, 'usr/lib/git-core/git-upload-pack'));
    // This machine reaches the npm registry through a TLS proxy of its own: trust what the host trusts.
    cpSync(CA_BUNDLE, path.join(root, CA_BUNDLE));
    writeFileSync(
      path.join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n',
    );
    writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
    chmodSync(path.join(root, 'tmp'), 0o1777);
    writeFileSync(
      path.join(context, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY rootfs/ /',
        'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s && mkdir -p /home/node /root && chown node:node /home/node"]',
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
        'CMD ["node"]',
      ].join('\n'),
    );
    await dockerCli([
      'build',
      '--quiet',
      '--network',
      'host',
      '--label',
      'dev.dockyard.test=node-base',
      '-t',
      tag,
      context,
    ]);
    return tag;
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}
