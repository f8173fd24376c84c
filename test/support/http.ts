// A lenient HTTP GET for test apps: busybox httpd's CGI answers use bare LF line ends, which fetch (undici) refuses.
import { request } from 'node:http';

export interface HttpAnswer {
  status: number;
  body: string;
}

/** GET http://address/path with Node's lenient parser; rejects on connection errors and after `timeoutMs`. */
export function httpGet(address: string, path = '/', timeoutMs = 2000): Promise<HttpAnswer> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = request(
      { host: address.slice(0, colon), port: Number(address.slice(colon + 1)), path, insecureHTTPParser: true, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${address}${path} in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
