// The access log line the balancer writes and the traffic metrics read back: its marker and its fields, in one place both sides import.

/** First field of every line: tells our lines from anything else arriving on the syslog port (and versions the format). */
export const LOG_MARKER = 'reactor1';

/**
 * The fields after the marker, `|`-separated, as nginx variables. The reader
 * (src/metrics/log-line.ts) takes them in this order: endpoint names, status,
 * body bytes, request time, then the upstream addresses, statuses and
 * response times (one per attempt).
 */
export const LOG_FIELDS =
  '$reactor_endpoint|$status|$body_bytes_sent|$request_time|$upstream_addr|$upstream_status|$upstream_response_time';
