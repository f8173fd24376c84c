// Builds the small local test image (busybox-static httpd) with `docker import`, since no registry is reachable.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The image every Docker test uses; `/usr/local/bin/runapp` serves HTTP on $PORT (default 5000). */
export const TEST_IMAGE = 'reactor-test/httpd:1';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
const APPLETS = ['sh', 'httpd', 'sleep', 'cat', 'env', 'hostname', 'echo', 'id', 'mkdir', 'ls', 'wget', 'nc', 'date'];

/**
 * runapp writes the container's host name into the index page, so a test can
 * tell which instance answered, then runs httpd in the foreground. CGI
 * scripts: /cgi-bin/env dumps the environment; /cgi-bin/slow?N holds the
 * connection open N seconds (for draining tests).
 */
const RUNAPP = `#!/bin/sh
mkdir -p /www
hostname > /www/index.html
exec httpd -f -p "\${PORT:-5000}" -h /www
`;
const CGI_ENV = `#!/bin/sh
echo "Content-Type: text/plain"
echo
env
`;
const CGI_SLOW = `#!/bin/sh
echo "Content-Type: text/plain"
echo
echo started
sleep "\${QUERY_STRING:-5}"
echo done
`;

function docker(args: string[], input?: Buffer): string {
  return execFileSync('docker', args, { input, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] }).toString();
}

export function imageExists(image: string): boolean {
  return spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status === 0;
}

/** An image that reports one custom metric with its own token (REACTOR_TOKEN at REACTOR_API), then serves like runapp. */
export const METRIC_IMAGE = 'reactor-test/metric-reporter:1';

/**
 * Posts `{"probe": [1, 42]}` as this instance's own metrics, retrying until
 * the API takes it, and keeps the answer in /www/report.json; then runapp.
 */
const REPORT = `#!/bin/sh
body='{"query":"mutation($i: ID!) { setInstanceMetrics(instance: $i, metrics: {probe: [1, 42]}) }","variables":{"i":"'"$REACTOR_INSTANCE"'"}}'
mkdir -p /www
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if wget -q -O /www/report.json --header "Authorization: Bearer $REACTOR_TOKEN" --header "Content-Type: application/json" --post-data "$body" "$REACTOR_API"; then break; fi
  sleep 1
done
exec /usr/local/bin/runapp
`;

/** Builds METRIC_IMAGE if it is not there yet. */
export function ensureMetricImage(): string {
  return ensureTestImage(METRIC_IMAGE, { scripts: [['usr/local/bin/report', REPORT]], cmd: '/usr/local/bin/report' });
}

/** Builds TEST_IMAGE if it is not there yet; fails with a clear message if busybox-static is missing. */
export function ensureTestImage(image = TEST_IMAGE, extra: { scripts?: [string, string][]; cmd?: string } = {}): string {
  if (imageExists(image)) return image;
  const busybox = BUSYBOX_CANDIDATES.find((path) => existsSync(path));
  if (!busybox) throw new Error('busybox-static is not installed: run `bash scripts/setup.sh --test`');
  const root = mkdtempSync(join(tmpdir(), 'reactor-rootfs-'));
  try {
    for (const dir of ['bin', 'usr/local/bin', 'www/cgi-bin', 'tmp', 'etc']) mkdirSync(join(root, dir), { recursive: true });
    cpSync(busybox, join(root, 'bin/busybox'));
    for (const applet of APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
    const scripts: [string, string][] = [
      ['usr/local/bin/runapp', RUNAPP],
      ['www/cgi-bin/env', CGI_ENV],
      ['www/cgi-bin/slow', CGI_SLOW],
      ...(extra.scripts ?? []),
    ];
    for (const [path, text] of scripts) {
      writeFileSync(join(root, path), text);
      chmodSync(join(root, path), 0o755);
    }
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    const tar = execFileSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
    docker(['import', '--change', `CMD ["${extra.cmd ?? '/usr/local/bin/runapp'}"]`, '--change', 'EXPOSE 5000', '-', image], tar);
    return image;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
