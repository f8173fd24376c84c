// Plain HTTP(S) requests for tests, with Node's lenient parser: busybox httpd's CGI answers use bare LF line ends, which fetch (undici) refuses.
import http from 'node:http';
import https from 'node:https';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One GET on a fresh connection (no pooling, `connection: close`); https
 * accepts a self-signed certificate. Rejects on connection errors and after
 * `timeoutMs` without an answer.
 */
export function request(url: string, options: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Answer> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  const timeoutMs = options.timeoutMs ?? 3000;
  return new Promise((resolve, reject) => {
    const req = client.request(
      target,
      {
        method: 'GET',
        headers: { connection: 'close', ...options.headers },
        agent: false,
        insecureHTTPParser: true,
        timeout: timeoutMs,
        ...(target.protocol === 'https:' ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** GET http://address/path (`address` is host:port, as instances publish it). */
export function httpGet(address: string, path = '/', timeoutMs = 2000): Promise<Answer> {
  return request(`http://${address}${path}`, { timeoutMs });
}
