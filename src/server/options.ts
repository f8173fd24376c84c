// The options of one `reactor server` process (what the CLI's flags become).

export interface ServerOptions {
  /** host:port; default 127.0.0.1:8080. Port 0 picks a free port. */
  listen?: string;
  /** Where the SQLite store, nginx files and the manager id live. */
  dataDir: string;
  /** `sqlite:PATH` or `mongodb://…`; default sqlite in the data directory. */
  store?: string;
  /** Required when listening beyond loopback. */
  apiKey?: string;
  /** Stack traces in errors. */
  debug?: boolean;
  /** Name of the local manager; default the host name. */
  name?: string;
  /** Slots of the local manager; default: the stored value, else 1000. */
  slots?: number;
  /** Seconds between evaluation rounds. */
  interval?: number;
  /** Run the local docker agent (default true). */
  agent?: boolean;
  /** Address the local nginx's endpoint servers listen on (default 0.0.0.0). */
  balancerAddress?: string;
  /** Seconds metric samples are kept (default 86400). */
  metricsRetention?: number;
  log?: (line: string) => void;
}
